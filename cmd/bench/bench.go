package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

// Scenario names (the report's rows).
const (
	refRead       = "reference read (TC3 + 1 point read)"
	refWrite      = "reference write (TC3 + 1 insert tx)"
	roomInfo      = "DescribeRoomInfo (20 rooms)"
	roomInfoOld   = "DescribeRoomInfo (20 rooms + old rooms)"
	describeRec   = "DescribeCloudRecording (running task)"
	entry         = "participant entry (room, member, callback rows)"
	roomsInWindow = 20
)

// bench holds the servers of one run.
type bench struct {
	opts  *options
	work  string
	log   io.Writer
	procs []*process
}

func (b *bench) stopAll() {
	for _, p := range b.procs {
		p.stop()
	}
}

// build is one emulator binary with its three servers: rooms (20 rooms in the window, one
// of them recorded), history (the same plus old rooms) and entry (participants entering).
type build struct {
	label                string
	rooms, history, join *process
	taskId               string
}

// results are the samples of every scenario, one per round, by build label and name.
type results struct {
	builds  []string
	samples map[string][]sample
}

func key(label, name string) string { return label + "\x00" + name }

func (r *results) failed() error {
	var bad []string
	for k, ss := range r.samples {
		for _, s := range ss {
			if s.failures == 0 && s.requests == 0 {
				s.failures, s.failure = 1, "no request completed"
			}
			if s.failures > 0 {
				bad = append(bad, fmt.Sprintf("%s: %d answers failed, first: %s", strings.ReplaceAll(k, "\x00", " "), s.failures, s.failure))
				break
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("some answers were not the expected success:\n  %s", strings.Join(bad, "\n  "))
}

var rootKey = cam.Key{SecretId: benchSecretId, SecretKey: benchSecretKey, Uin: benchUin}

func (b *bench) measure(ctx context.Context) (*results, error) {
	read, err := b.reference("read")
	if err != nil {
		return nil, err
	}
	write, err := b.reference("write")
	if err != nil {
		return nil, err
	}
	var builds []*build
	for _, bin := range []struct{ label, path string }{{"emulator", b.opts.emulator}, {"baseline", b.opts.baseline}} {
		if bin.path == "" {
			continue
		}
		bl, err := b.startBuild(ctx, bin.label, bin.path)
		if err != nil {
			return nil, err
		}
		builds = append(builds, bl)
	}
	res := &results{samples: map[string][]sample{}}
	for _, bl := range builds {
		res.builds = append(res.builds, bl.label)
	}
	var next atomic.Int64 // numbers the entries' users across every run
	measure := func(label string, sc *scenario) error {
		s, err := load(ctx, sc, b.opts.connections, b.opts.warmup, b.opts.duration, &next)
		if err != nil {
			return fmt.Errorf("%s %s: %w", label, sc.name, err)
		}
		res.samples[key(label, sc.name)] = append(res.samples[key(label, sc.name)], s)
		return nil
	}
	for round := 0; round < b.opts.rounds; round++ {
		fmt.Fprintf(b.log, "round %d of %d\n", round+1, b.opts.rounds)
		// Scenarios are built just before they run: signatures are valid for minutes.
		if err := measure("", readScenario(read)); err != nil {
			return nil, err
		}
		for _, bl := range builds {
			for _, sc := range []*scenario{roomInfoScenario(roomInfo, bl.rooms), recordingScenario(bl.rooms, bl.taskId), roomInfoScenario(roomInfoOld, bl.history)} {
				if err := measure(bl.label, sc); err != nil {
					return nil, err
				}
			}
		}
		if err := measure("", writeScenario(write)); err != nil {
			return nil, err
		}
		for _, bl := range builds {
			if err := measure(bl.label, entryScenario(bl.join)); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// reference starts this program again as a reference server ("read" or "write").
func (b *bench) reference(mode string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), referenceEnv+"="+mode)
	p, err := startProcess("reference "+mode, cmd, func(line string) (string, bool) {
		addr, ok := strings.CutPrefix(line, "ADDR ")
		return addr, ok
	})
	if err == nil {
		b.procs = append(b.procs, p)
	}
	return p, err
}

var endpointLine = regexp.MustCompile(`API endpoint\s+http://(\S+)`)

// startEmulator runs the binary with its own data dir, rate limits off, and every callback
// of the default application going to a receiver that answers 200.
func (b *bench) startEmulator(name, path, callbackURL string) (*process, error) {
	dir := filepath.Join(b.work, strings.ReplaceAll(name, " ", "-"))
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), "TRTC_EMULATOR_ADDR=127.0.0.1:0", "TRTC_EMULATOR_DATA_DIR="+dir,
		"TRTC_EMULATOR_RATE_LIMIT=0", "TRTC_EMULATOR_CALLBACK_URL="+callbackURL)
	addr := ""
	p, err := startProcess(name, cmd, func(line string) (string, bool) {
		if m := endpointLine.FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
		return addr, strings.HasPrefix(line, "  Database") // the banner's last line
	})
	if err != nil {
		return nil, err
	}
	p.dir = dir
	b.procs = append(b.procs, p)
	return p, nil
}

func (b *bench) startBuild(ctx context.Context, label, path string) (*build, error) {
	rcv, err := b.receiver()
	if err != nil {
		return nil, err
	}
	bl := &build{label: label}
	if bl.rooms, err = b.startEmulator(label+" rooms", path, rcv); err != nil {
		return nil, err
	}
	if bl.history, err = b.startEmulator(label+" history", path, rcv); err != nil {
		return nil, err
	}
	if bl.join, err = b.startEmulator(label+" entry", path, rcv); err != nil {
		return nil, err
	}
	for _, p := range []*process{bl.rooms, bl.history} {
		task, err := roomFixtures(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		if p == bl.rooms {
			bl.taskId = task
		}
	}
	if err := addOldRooms(filepath.Join(bl.history.dir, "emulator.db"), b.opts.oldRooms, time.Now()); err != nil {
		return nil, fmt.Errorf("%s: old rooms: %w", bl.history.name, err)
	}
	return bl, nil
}

// receiver is a callback receiver answering 200 to everything, in this process.
func (b *bench) receiver() (string, error) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}), ReadHeaderTimeout: 5 * time.Second}
	ln, err := listenLoopback()
	if err != nil {
		return "", err
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/callback", nil
}

// roomFixtures opens roomsInWindow rooms, one of them with a running recording task (its
// anchor publishes nothing, so the recorder stays idle), and returns the task's id.
func roomFixtures(ctx context.Context, p *process) (string, error) {
	for i := 0; i < roomsInWindow; i++ {
		body := fmt.Sprintf(`{"RoomId":"room-%d","RoomIdType":0,"UserId":"anchor-%d"}`, i, i)
		if err := control(ctx, p, body); err != nil {
			return "", err
		}
	}
	sig, err := usersig.Gen(usersig.Params{SdkAppId: benchSdkAppId, Key: benchSdkSecretKey, UserId: "bench-recorder",
		Expire: 24 * time.Hour, Now: time.Now()})
	if err != nil {
		return "", err
	}
	params, _ := json.Marshal(map[string]any{"SdkAppId": benchSdkAppId, "RoomId": "room-0", "RoomIdType": 0,
		"UserId": "bench-recorder", "UserSig": sig,
		"RecordParams": map[string]any{"RecordMode": 1, "MaxIdleTime": 86400, "StreamType": 0},
		"StorageParams": map[string]any{"CloudStorage": map[string]any{"Vendor": 0, "Region": "ap-guangzhou",
			"Bucket": "bench-1250000000", "AccessKey": "AKIDbench", "SecretKey": "benchSecret"}}})
	sc := signedScenario("CreateCloudRecording", p, rootKey, "CreateCloudRecording", params, nil)
	_, _, header, body := sc.request(0)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+p.addr+"/", bytes.NewReader(body))
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		responseHead
		TaskId string
	}
	if err := checkEnvelope(resp.StatusCode, answer, &created); err != nil {
		return "", fmt.Errorf("CreateCloudRecording: %w", err)
	}
	return created.TaskId, nil
}

func control(ctx context.Context, p *process, body string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+p.addr+"/_emulator/v1/participants", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return checkEntry(resp.StatusCode, answer)
}

// addOldRooms writes n closed rooms of the default application, created between 13 days
// and 1 day before now and open 10 minutes each: history that no recent window holds. The
// emulator runs meanwhile (WAL: this connection waits for its writer).
func addOldRooms(dbPath string, n int, now time.Time) error {
	if n <= 0 {
		return nil
	}
	db, err := gorm.Open(sqlite.Open("file:"+dbPath+"?_busy_timeout=10000&_txlock=immediate"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	first := now.Add(-13 * 24 * time.Hour).UnixMilli()
	step := (12 * 24 * time.Hour).Milliseconds() / int64(n)
	return db.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
		INSERT INTO rooms (sdk_app_id, room_id, room_id_type, creator_user_id, created_at_ms, destroyed_at_ms)
		SELECT ?, 'old-' || i, 0, 'alice', ? + i * ?, ? + i * ? + 600000 FROM n`,
		n, benchSdkAppId, first, step, first, step).Error
}

func readScenario(p *process) *scenario {
	body := []byte(`{"SdkAppId":1400000001,"RoomId":"room-42"}`)
	return signedScenario(refRead, p, rootKey, "DescribeRoomInfo", body, func(status int, b []byte) error {
		var r struct {
			responseHead
			RoomId string
		}
		if err := checkEnvelope(status, b, &r); err != nil {
			return err
		}
		if r.RoomId != "room-41" { // row 42 of room-0 …
			return fmt.Errorf("reference read: RoomId %q", r.RoomId)
		}
		return nil
	})
}

func writeScenario(p *process) *scenario {
	body := []byte(`{"SdkAppId":1400000001,"RoomId":"written","UserId":"bench"}`)
	return signedScenario(refWrite, p, rootKey, "CreateRoom", body, func(status int, b []byte) error {
		var r struct {
			responseHead
			Id int64
		}
		if err := checkEnvelope(status, b, &r); err != nil {
			return err
		}
		if r.Id <= 0 {
			return fmt.Errorf("reference write: Id %d", r.Id)
		}
		return nil
	})
}

// roomInfoScenario asks for the rooms of the last hour: the fixtures' 20, first page of 10.
func roomInfoScenario(name string, p *process) *scenario {
	now := time.Now().Unix()
	body := []byte(`{"SdkAppId":1400000001,"StartTime":` + strconv.FormatInt(now-3600, 10) + `,"EndTime":` + strconv.FormatInt(now+3600, 10) + `}`)
	return signedScenario(name, p, rootKey, "DescribeRoomInfo", body, func(status int, b []byte) error {
		var r struct {
			responseHead
			Total    int
			RoomList []struct{ RoomString string }
		}
		if err := checkEnvelope(status, b, &r); err != nil {
			return err
		}
		if r.Total != roomsInWindow || len(r.RoomList) != 10 {
			return fmt.Errorf("DescribeRoomInfo: Total %d with %d rooms, want %d with 10", r.Total, len(r.RoomList), roomsInWindow)
		}
		return nil
	})
}

func recordingScenario(p *process, taskId string) *scenario {
	body := []byte(`{"SdkAppId":1400000001,"TaskId":"` + taskId + `"}`)
	return signedScenario(describeRec, p, rootKey, "DescribeCloudRecording", body, func(status int, b []byte) error {
		var r struct {
			responseHead
			TaskId, Status string
		}
		if err := checkEnvelope(status, b, &r); err != nil {
			return err
		}
		if r.TaskId != taskId || (r.Status != "Idle" && r.Status != "InProgress") {
			return fmt.Errorf("DescribeCloudRecording: TaskId %q Status %q", r.TaskId, r.Status)
		}
		return nil
	})
}

// entryScenario: each request a new user, in one of 50 rooms (the first entry of each
// creates it: 101 then 103).
func entryScenario(p *process) *scenario {
	header := http.Header{"Content-Type": {"application/json"}}
	return &scenario{name: entry, proc: p, check: checkEntry,
		request: func(i int64) (string, string, http.Header, []byte) {
			body := fmt.Sprintf(`{"RoomId":"entry-%d","RoomIdType":0,"UserId":"user-%d"}`, i%50, i)
			return "POST", "/_emulator/v1/participants", header.Clone(), []byte(body)
		}}
}

// checkEntry accepts a control API entry: 200 with the participant.
func checkEntry(status int, b []byte) error {
	var r struct {
		UserId string
		Error  any
	}
	if err := json.Unmarshal(b, &r); err != nil || status != http.StatusOK || r.Error != nil || r.UserId == "" {
		return fmt.Errorf("entry: HTTP %d: %.200s", status, b)
	}
	return nil
}
