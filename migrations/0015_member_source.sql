-- Where a member's media comes from (issue 11): '' a virtual participant (the control API;
-- the emulator encodes its media), 'rtmp' a publisher pushing RTMP (its media is what it
-- sends).
ALTER TABLE members ADD COLUMN source TEXT NOT NULL DEFAULT '';
