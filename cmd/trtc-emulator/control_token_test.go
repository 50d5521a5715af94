package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestControlTokenRequired: the binary with TRTC_EMULATOR_CONTROL_TOKEN refuses control
// calls without it or with another (401), serves them with it, and keeps the health
// check open.
func TestControlTokenRequired(t *testing.T) {
	const token = "binary-control-token-42"
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CONTROL_TOKEN=" + token})
	if !strings.Contains(p.stdout.String(), "Control token  required") {
		t.Errorf("the banner does not say a control token is required:\n%s", p.stdout)
	}
	get := func(auth string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/_emulator/v1/apps/1400000001", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	for _, auth := range []string{"", "Bearer not-the-token"} {
		status, body := get(auth)
		if status != http.StatusUnauthorized || body["SdkSecretKey"] != nil {
			t.Errorf("Authorization %q: %d %v, want 401 and no key", auth, status, body)
		}
	}
	if status, body := get("Bearer " + token); status != 200 || body["SdkSecretKey"] != defaultSdkSecretKey {
		t.Errorf("with the token: %d %v", status, body)
	}
	p.stop(t)
}

// TestNonLoopbackNeedsTokenOrOptIn: on an address that is not loopback the binary does
// not start without a control token or TRTC_EMULATOR_INSECURE_CONTROL=1, and says how to
// fix it. (Nothing is bound: the refusal comes before the listener.)
func TestNonLoopbackNeedsTokenOrOptIn(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0"} {
		cmd := exec.Command(binary)
		cmd.Env = append(os.Environ(), "TRTC_EMULATOR_ADDR="+addr, "TRTC_EMULATOR_DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: started without a control token", addr)
			continue
		}
		for _, want := range []string{"not a loopback address", "TRTC_EMULATOR_CONTROL_TOKEN", "TRTC_EMULATOR_INSECURE_CONTROL=1"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: the refusal lacks %q: %s", addr, want, out)
			}
		}
	}
}

func TestControlExposureConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	cases := []struct {
		addr, token, insecure string
		ok, loopback          bool
	}{
		{"127.0.0.1:4599", "", "", true, true},
		{"127.0.0.2:4599", "", "", true, true},
		{"[::1]:4599", "", "", true, true},
		{"localhost:4599", "", "", true, true},
		{"0.0.0.0:4599", "", "", false, false},
		{":4599", "", "", false, false},
		{"emulator.example:4599", "", "", false, false},
		{"0.0.0.0:4599", "tok", "", true, false},
		{"0.0.0.0:4599", "", "1", true, false},
		{"0.0.0.0:4599", "", "0", false, false},
		{"127.0.0.1:4599", "", "maybe", false, true},
		{"127.0.0.1:4599", " tok", "", false, true},
	}
	for _, c := range cases {
		cfg, err := parseConfig(nil, env(map[string]string{"TRTC_EMULATOR_ADDR": c.addr,
			"TRTC_EMULATOR_CONTROL_TOKEN": c.token, "TRTC_EMULATOR_INSECURE_CONTROL": c.insecure}))
		if (err == nil) != c.ok {
			t.Errorf("%+v: err = %v", c, err)
			continue
		}
		if err == nil && cfg.Loopback() != c.loopback {
			t.Errorf("%+v: Loopback() = %v", c, cfg.Loopback())
		}
		if err == nil && !c.loopback && c.token == "" && !strings.Contains(cfg.controlWarning(), "unprotected") {
			t.Errorf("%+v: no warning for an unprotected non-loopback control API: %q", c, cfg.controlWarning())
		}
		if err == nil && (c.loopback || c.token != "") && cfg.controlWarning() != "" {
			t.Errorf("%+v: warning %q", c, cfg.controlWarning())
		}
	}
	// The flag wins over the env var, like every setting.
	cfg, err := parseConfig([]string{"-addr", "0.0.0.0:4599", "-control-token", "flag-token"}, env(nil))
	if err != nil || cfg.ControlToken != "flag-token" {
		t.Fatalf("flags: %v %+v", err, cfg)
	}
}
