package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam"
)

// process is a server under measurement.
type process struct {
	name string
	cmd  *exec.Cmd
	addr string
	dir  string // its data dir (emulators)
	done chan struct{}
}

// startProcess starts a server and waits until ready returns its address from a line of
// its standard output.
func startProcess(name string, cmd *exec.Cmd, ready func(line string) (string, bool)) (*process, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := ready(sc.Text()); ok {
				found <- addr
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-found:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready: %s", name, stderr.String())
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s not ready after 60 s: %s", name, stderr.String())
	}
}

func (p *process) stop() {
	p.cmd.Process.Kill()
	<-p.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// cpuTime is the CPU (user + system) a process has used, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d (Linux only): %w", pid, err)
	}
	// The command name is in parentheses and may hold spaces: fields follow the last ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	// fields[0] is field 3 (state): utime is field 14, stime field 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// scenario is one kind of request to one server.
type scenario struct {
	name string
	proc *process
	// request returns the i-th request's method, path, headers and body.
	request func(i int64) (method, path string, header http.Header, body []byte)
	// check judges an answer: nil when it is the expected success.
	check func(status int, body []byte) error
}

// sample is one measurement of a scenario.
type sample struct {
	requests int64
	elapsed  time.Duration
	cpu      time.Duration
	failures int64
	failure  string // the first failure
}

func (s sample) rate() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// cpuPerRequest in microseconds.
func (s sample) cpuPerRequest() float64 {
	if s.requests == 0 {
		return 0
	}
	return float64(s.cpu.Microseconds()) / float64(s.requests)
}

// load sends sc's requests from n keep-alive connections for warmup and then d, and reports
// what was completed in d and the CPU the server used meanwhile. Every answer is checked.
func load(ctx context.Context, sc *scenario, n int, warmup, d time.Duration, next *atomic.Int64) (sample, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	base := "http://" + sc.proc.addr
	var (
		counting  atomic.Bool
		stop      atomic.Bool
		completed atomic.Int64
		failures  atomic.Int64
		firstFail atomic.Value
	)
	fail := func(err error) {
		failures.Add(1)
		firstFail.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				method, path, header, body := sc.request(next.Add(1))
				req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
				if err != nil {
					fail(err)
					return
				}
				req.Header = header
				counted := counting.Load()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					continue
				}
				answer, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					err = sc.check(resp.StatusCode, answer)
				}
				if err != nil {
					fail(err)
					continue
				}
				if counted && !stop.Load() {
					completed.Add(1)
				}
			}
		}()
	}
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
	}
	cpu0, err := cpuTime(sc.proc.cmd.Process.Pid)
	start := time.Now()
	counting.Store(true)
	if err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	stop.Store(true)
	elapsed := time.Since(start)
	cpu1, err2 := cpuTime(sc.proc.cmd.Process.Pid)
	wg.Wait()
	if err := errors.Join(err, err2, ctx.Err()); err != nil {
		return sample{}, err
	}
	s := sample{requests: completed.Load(), elapsed: elapsed, cpu: cpu1 - cpu0, failures: failures.Load()}
	if f, ok := firstFail.Load().(string); ok {
		s.failure = f
	}
	return s, nil
}

// responseHead is what every API 3.0 answer's Response holds; the scenarios' answer types
// embed it, so that one pass of the decoder checks the envelope and reads their fields.
type responseHead struct {
	Error *struct {
		Code, Message string
	}
	RequestId string
}

func (h *responseHead) head() *responseHead { return h }

// headed is an answer type that embeds responseHead.
type headed interface{ head() *responseHead }

// checkEnvelope accepts HTTP 200 with a {"Response":{…,"RequestId"}} envelope that has no
// Error, and decodes the Response into into (a zero value; nil when only the envelope
// matters) for the caller's own checks. Each answer is decoded once: the load generator
// shares the machine with the server it measures, so its cost per answer must stay small.
func checkEnvelope(status int, body []byte, into headed) error {
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", status, body)
	}
	if into == nil {
		into = &responseHead{}
	}
	env := struct{ Response any }{Response: into} // decoded into what it points at
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("not an API envelope: %.200s", body)
	}
	h := into.head()
	switch {
	case env.Response == nil:
		return fmt.Errorf("Response is null: %.200s", body)
	case h.Error != nil:
		return fmt.Errorf("Error %s: %s", h.Error.Code, h.Error.Message)
	case h.RequestId == "":
		return fmt.Errorf("no Response or no RequestId: %.200s", body)
	}
	return nil
}

// signer makes TC3-signed requests of one action and body, as the Go SDK signs them.
type signer struct {
	addr string
	key  cam.Key
}

func (s signer) header(action string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-TC-Action", action)
	h.Set("X-TC-Version", "2019-07-22")
	h.Set("X-TC-Region", "ap-guangzhou")
	ts := time.Now().Unix()
	h.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	r := &cam.Request{Method: "POST", Host: s.addr, Path: "/", Header: h, Body: body}
	h.Set("Authorization", cam.SignTC3(s.key, "trtc", r, ts))
	return h
}

// signedScenario sends one signed action with a fixed body; the signature is made when the
// scenario is built, so build it just before measuring (a signature is valid for 5 minutes).
func signedScenario(name string, p *process, key cam.Key, action string, body []byte, check func(int, []byte) error) *scenario {
	header := signer{addr: p.addr, key: key}.header(action, body)
	return &scenario{name: name, proc: p, check: check,
		request: func(int64) (string, string, http.Header, []byte) { return "POST", "/", header.Clone(), body }}
}
