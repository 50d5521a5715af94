package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam"
)

// TestMain lets the test binary serve the reference handlers, as the command does: the
// bench starts os.Executable() with referenceEnv set.
func TestMain(m *testing.M) {
	if mode := os.Getenv(referenceEnv); mode != "" {
		if err := serveReference(mode, os.Stdout); err != nil {
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func TestCheckEnvelope(t *testing.T) {
	type answer struct {
		responseHead
		Total int
	}
	for _, c := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"success", 200, `{"Response":{"Total":3,"RequestId":"r"}}`, true},
		{"error in the envelope", 200, `{"Response":{"Error":{"Code":"ResourceNotFound","Message":"m"},"RequestId":"r"}}`, false},
		{"no RequestId", 200, `{"Response":{"Total":3}}`, false},
		{"not an envelope", 200, `{"Total":3}`, false},
		{"null Response", 200, `{"Response":null}`, false},
		{"not JSON", 200, `<html>`, false},
		{"HTTP 500", 500, `{"Response":{"RequestId":"r"}}`, false},
	} {
		var into answer
		err := checkEnvelope(c.status, []byte(c.body), &into)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.ok && into.Total != 3 {
			t.Errorf("%s: Response not decoded: %+v", c.name, into)
		}
		if err := checkEnvelope(c.status, []byte(c.body), nil); (err == nil) != c.ok {
			t.Errorf("%s, envelope only: %v", c.name, err)
		}
	}
	if checkEntry(200, []byte(`{"Error":{"Code":"FailedOperation.UserExist"}}`)) == nil || checkEntry(400, []byte(`{"UserId":"u"}`)) == nil ||
		checkEntry(200, []byte(`{"UserId":"u"}`)) != nil {
		t.Error("checkEntry")
	}
}

// TestLoadCountsRefusedAnswers: answers with an Error are failures, never counted as
// requests served, and fail the run.
func TestLoadCountsRefusedAnswers(t *testing.T) {
	b := &bench{opts: &options{}}
	defer b.stopAll()
	read, err := b.reference("read")
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	good, err := load(context.Background(), readScenario(read), 2, 50*time.Millisecond, 200*time.Millisecond, &next)
	if err != nil || good.requests == 0 || good.failures != 0 || good.cpu < 0 {
		t.Fatalf("signed correctly: %+v %v", good, err)
	}
	wrong := signedScenario(refRead, read, cam.Key{SecretId: benchSecretId, SecretKey: "wrong"}, "DescribeRoomInfo", []byte(`{}`), readScenario(read).check)
	bad, err := load(context.Background(), wrong, 2, 50*time.Millisecond, 200*time.Millisecond, &next)
	if err != nil || bad.requests != 0 || bad.failures == 0 || !strings.Contains(bad.failure, "AuthFailure.SignatureFailure") {
		t.Fatalf("signed with a wrong key: %+v %v", bad, err)
	}
	r := &results{samples: map[string][]sample{key("", refRead): {good, bad}}}
	if err := r.failed(); err == nil || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
		t.Fatalf("failed() = %v", err)
	}
}

// TestQuickRun runs the whole bench briefly (2 s a scenario: long enough for requests to
// complete on a loaded CI machine) against a fresh build of the emulator: every
// scenario is measured, every answer was the expected success, and the report has its rows.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator")
	}
	bin := filepath.Join(t.TempDir(), "trtc-emulator")
	if out, err := exec.Command("go", "build", "-o", bin, "../trtc-emulator").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-emulator", bin, "-rounds", "1", "-duration", "2s", "-warmup", "300ms",
		"-connections", "4", "-old-rooms", "500"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, row := range []string{refRead, refWrite, roomInfo, describeRec, entry, "DescribeRoomInfo (20 rooms + 500 old rooms)", "history:"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no row %q in\n%s", row, out.String())
		}
	}
	t.Log(out.String())
}
