package testpeer

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// WaitListening returns once a socket listens on 127.0.0.1:port (a peer such as ffmpeg
// -listen 1 that was just started), failing t after within. It reads /proc/net/tcp
// (Linux): no connection is made, which a single-accept peer would take for its client.
func WaitListening(t testing.TB, port int, within time.Duration) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(within)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Fatalf("read /proc/net/tcp: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 3 && f[1] == want && f[3] == "0A" {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("nothing listens on 127.0.0.1:%d after %v", port, within)
		}
	}
}
