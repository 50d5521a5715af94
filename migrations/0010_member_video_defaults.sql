-- Members store the picture their main stream publishes (models.DefaultMainVideo when a
-- client entered without one; sides even, as encoded): rows written before have 0x0 or odd
-- sides, which the control API showed while the recorder encoded 640x360@15.
UPDATE members SET video_width = 640, video_height = 360 WHERE video_width < 2 OR video_height < 2;
UPDATE members SET video_width = video_width - video_width % 2, video_height = video_height - video_height % 2;
UPDATE members SET video_fps = 15 WHERE video_fps = 0;
