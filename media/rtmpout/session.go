package rtmpout

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// The RTMP session is ours, on gortmplib's handshake and message framing, rather than
// gortmplib's Client: that client sends the whole path as the application and an empty
// stream name (the stream name goes in a #fragment, MediaMTX's convention, not a CDN's),
// and fails on a server's reply it cannot parse (ffmpeg's one-field onFCPublish), where
// servers' extra messages are to be skipped.

// streamID is the message stream media goes on: gortmplib's Writer sends on stream 1,
// which every server creates first.
const (
	streamID    = 1
	streamIDRaw = 0x1000000 // streamID as gortmplib's messages carry it
)

// maxSkipped is how many messages in a row may fail to parse before the connection is
// taken for broken.
const maxSkipped = 16

// statusError is a server's refusal (_error, or onStatus at level error).
type statusError struct {
	Code, Description string
}

func (e *statusError) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// handshake runs the RTMP handshake and sets up the message framing on p.conn.
func (p *Publisher) handshake() error {
	p.bc = bytecounter.NewReadWriter(p.conn)
	if _, _, err := handshake.DoClient(p.bc, false, false); err != nil {
		return err
	}
	p.mw = message.NewWriter(p.bc, p.bc.Writer, false)
	p.mr = message.NewReader(p.bc, p.bc.Reader, func(count uint32) error {
		return p.writeMessage(&message.Acknowledge{Value: count})
	})
	return nil
}

// publish asks, as ffmpeg and OBS do, for the application (connect), then for the stream
// (releaseStream, FCPublish, createStream, publish), and waits for the server's yes.
func (p *Publisher) publish(t target) error {
	for _, m := range []message.Message{
		&message.SetWindowAckSize{Value: 2500000},
		&message.SetChunkSize{Value: 65536},
		&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1, Arguments: []any{amf0.Object{
			{Key: "app", Value: t.App},
			{Key: "type", Value: "nonprivate"},
			{Key: "flashVer", Value: "FMLE/3.0 (compatible; trtc-emulator)"},
			{Key: "tcUrl", Value: t.TcURL},
		}}},
	} {
		if err := p.writeMessage(m); err != nil {
			return err
		}
	}
	res, err := p.result(1)
	if err != nil {
		return err
	}
	if res.Name != "_result" {
		return fmt.Errorf("rtmpout: %s refused the connection (%w)", p.where, status(res))
	}
	for _, m := range []message.Message{
		&message.CommandAMF0{ChunkStreamID: 3, Name: "releaseStream", CommandID: 2, Arguments: []any{nil, t.Stream}},
		&message.CommandAMF0{ChunkStreamID: 3, Name: "FCPublish", CommandID: 3, Arguments: []any{nil, t.Stream}},
		&message.CommandAMF0{ChunkStreamID: 3, Name: "createStream", CommandID: 4, Arguments: []any{nil}},
	} {
		if err := p.writeMessage(m); err != nil {
			return err
		}
	}
	if res, err = p.result(4); err != nil {
		return err
	}
	if res.Name != "_result" {
		return fmt.Errorf("rtmpout: %s refused to create a stream (%w)", p.where, status(res))
	}
	if id, _ := arg(res, 1).(float64); id != streamID {
		return fmt.Errorf("rtmpout: %s created the stream %v, where gortmplib sends on %d", p.where, arg(res, 1), streamID)
	}
	if err := p.writeMessage(&message.CommandAMF0{ChunkStreamID: 4, MessageStreamID: streamIDRaw, Name: "publish", CommandID: 5,
		Arguments: []any{nil, t.Stream, "live"}}); err != nil {
		return err
	}
	for {
		cmd, err := p.command()
		if err != nil {
			return err
		}
		if cmd.Name != "onStatus" {
			continue
		}
		if st := status(cmd); level(cmd) != "status" {
			return fmt.Errorf("rtmpout: %s refused the stream (%w)", p.where, st)
		}
		return nil
	}
}

// result waits for the _result or _error of the command id.
func (p *Publisher) result(id int) (*message.CommandAMF0, error) {
	for {
		cmd, err := p.command()
		if err != nil {
			return nil, err
		}
		if (cmd.Name == "_result" || cmd.Name == "_error") && (cmd.CommandID == id || cmd.CommandID == 0) {
			return cmd, nil
		}
	}
}

// command reads up to the server's next command, skipping other messages and those that
// do not parse.
func (p *Publisher) command() (*message.CommandAMF0, error) {
	for skipped := 0; ; {
		msg, err := p.mr.Read()
		switch {
		case err != nil && (ioError(err) || skipped == maxSkipped):
			return nil, err
		case err != nil:
			skipped++
			continue
		}
		skipped = 0
		switch m := msg.(type) {
		case *message.CommandAMF0:
			return m, nil
		case *message.UserControlPingRequest:
			if err := p.writeMessage(&message.UserControlPingResponse{ServerTime: m.ServerTime}); err != nil {
				return nil, err
			}
		}
	}
}

// readServer reads what the server sends once the stream is published, answers its pings
// and ends (closing done) with the connection, or when the server ends the stream.
func (p *Publisher) readServer() {
	defer close(p.done)
	for {
		cmd, err := p.command()
		if err != nil {
			p.readErr = err
			return
		}
		if cmd.Name == "onStatus" && level(cmd) == "error" {
			p.readErr = status(cmd)
			p.conn.Close()
			return
		}
	}
}

// ioError tells a failure of the connection from a message that did not parse.
func ioError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.ErrClosedPipe) || errors.As(err, &ne)
}

// writeMessage sends one message within the write timeout.
func (p *Publisher) writeMessage(m message.Message) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.conn.SetWriteDeadline(time.Now().Add(p.writeTimeout))
	return p.mw.Write(m)
}

// wire is the connection as gortmplib's Writer writes to it.
type wire struct{ p *Publisher }

func (w wire) BytesReceived() uint64         { return w.p.bc.Reader.Count() }
func (w wire) BytesSent() uint64             { return w.p.bc.Writer.Count() }
func (w wire) Write(m message.Message) error { return w.p.writeMessage(m) }
func (w wire) Read() (message.Message, error) {
	return nil, errors.New("rtmpout: the publisher reads nothing")
}

func arg(cmd *message.CommandAMF0, i int) any {
	if i < len(cmd.Arguments) {
		return cmd.Arguments[i]
	}
	return nil
}

// info is a command's information object (its second argument).
func info(cmd *message.CommandAMF0) amf0.Object {
	switch o := arg(cmd, 1).(type) {
	case amf0.Object:
		return o
	case amf0.ECMAArray:
		return amf0.Object(o)
	}
	return nil
}

func level(cmd *message.CommandAMF0) string {
	l, _ := info(cmd).GetString("level")
	return l
}

func status(cmd *message.CommandAMF0) *statusError {
	o := info(cmd)
	code, _ := o.GetString("code")
	desc, _ := o.GetString("description")
	if code == "" {
		code = cmd.Name
	}
	return &statusError{Code: code, Description: desc}
}
