package rtmp

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/media/hub"
)

// FuzzPublishBytes: whatever a client sends, a connection ends (refused, broken or timed
// out after Idle) without a panic.
func FuzzPublishBytes(f *testing.F) {
	c1 := append([]byte{3}, bytes.Repeat([]byte{0}, 1536)...)
	f.Add(c1)
	f.Add([]byte{3, 1, 2, 3})
	f.Add([]byte{6})
	f.Add(append(c1, bytes.Repeat([]byte{0x02}, 64)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := New(Config{Hub: hub.New(), Now: time.Now, Idle: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
			Admit: func(Request) (*Publisher, error) { return nil, errors.New("refused") }})
		if err != nil {
			t.Fatal(err)
		}
		server, client := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- s.publish(server, s.log); server.Close() }()
		go func() {
			client.SetDeadline(time.Now().Add(time.Second))
			client.Write(data)
			buf := make([]byte, 4096)
			for {
				if _, err := client.Read(buf); err != nil {
					return
				}
			}
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%d bytes of junk were a publisher", len(data))
			}
		case <-time.After(3 * time.Second):
			t.Fatal("a connection outlived its idle timeout")
		}
		client.Close()
	})
}

func TestParseRequest(t *testing.T) {
	for raw, want := range map[string]string{
		"rtmp://h:1935/push/room_1?sdkappid=1&userid=u": "push room_1 u",
		"rtmp://h/push/room_1/":                         "push room_1 ",
		"rtmp://h/push":                                 "error",
		"rtmp://h/push/a/b":                             "error",
	} {
		u, _ := url.Parse(raw)
		r, err := ParseRequest(u)
		got := "error"
		if err == nil {
			got = r.App + " " + r.Stream + " " + r.Query.Get("userid")
		}
		if got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
