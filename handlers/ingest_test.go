package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

const validIngest = `{"SdkAppId":1400000001,"RoomId":"1234","RoomIdType":1,"UserId":"puller","UserSig":"sig",
 "StreamUrl":"https://media.example.com/a.mp4"}`

func withIngest(t testing.TB, patch string) *wire.StartStreamIngestRequest {
	t.Helper()
	var base, p map[string]any
	json.Unmarshal([]byte(validIngest), &base)
	if err := json.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	merge(base, p)
	b, _ := json.Marshal(base)
	var req wire.StartStreamIngestRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

func TestValidateIngestDefaults(t *testing.T) {
	spec, err := ingestSpec(withIngest(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.RoomIdType != models.RoomIdInt || spec.RepeatNum != 1 || spec.Volume != 100 || spec.Tempo != 1 ||
		spec.StreamUrl != "https://media.example.com/a.mp4" || spec.MaxDurationMinutes != 0 || spec.VideoEncode != nil {
		t.Fatalf("spec = %+v", spec)
	}
	spec, err = ingestSpec(withIngest(t, `{"RepeatNum":-1,"MaxDuration":90,"RoomIdType":0,"RoomId":"hello-string-room"}`))
	if err != nil || spec.MaxDurationMinutes != 90 || spec.RoomIdType != models.RoomIdString {
		t.Fatalf("looping spec = %+v, %v", spec, err)
	}
	// MaxDuration applies to RepeatNum -1 only.
	if spec, err = ingestSpec(withIngest(t, `{"RepeatNum":3,"MaxDuration":90}`)); err != nil || spec.MaxDurationMinutes != 0 {
		t.Fatalf("MaxDuration without looping: %+v, %v", spec, err)
	}
}

func TestValidateIngestRules(t *testing.T) {
	cases := []struct {
		name, patch, code, inMsg string
	}{
		{"SourceUrl instead", `{"StreamUrl":null,"SourceUrl":["http://a/b.flv"]}`, "", ""},
		{"two SourceUrls", `{"StreamUrl":null,"SourceUrl":["http://a/b.flv","http://a/c.flv"]}`, "InvalidParameter.SourceUrl", "one"},
		{"no source", `{"StreamUrl":null}`, "MissingParameter", "StreamUrl"},
		{"empty StreamUrl", `{"StreamUrl":""}`, "MissingParameter", "StreamUrl"},
		{"ftp", `{"StreamUrl":"ftp://a/b.flv"}`, "InvalidParameter.StreamUrl", "scheme"},
		{"no host", `{"StreamUrl":"http:///b.flv"}`, "InvalidParameter.StreamUrl", "host"},
		{"rtmp", `{"StreamUrl":"rtmp://live.example.com/app/stream"}`, "", ""},
		{"too long", `{"StreamUrl":"http://a/` + strings.Repeat("x", 2048) + `"}`, "InvalidParameter.StreamUrl", "2048"},
		{"RepeatNum 0", `{"RepeatNum":0}`, "InvalidParameter.OutOfRange", "RepeatNum"},
		{"RepeatNum -2", `{"RepeatNum":-2}`, "InvalidParameter.OutOfRange", "RepeatNum"},
		{"RepeatNum 1001", `{"RepeatNum":1001}`, "InvalidParameter.OutOfRange", "RepeatNum"},
		{"RepeatNum 1000", `{"RepeatNum":1000}`, "", ""},
		{"MaxDuration 0", `{"RepeatNum":-1,"MaxDuration":0}`, "InvalidParameter.OutOfRange", "MaxDuration"},
		{"MaxDuration 10081", `{"RepeatNum":-1,"MaxDuration":10081}`, "InvalidParameter.OutOfRange", "MaxDuration"},
		{"Volume 201", `{"Volume":201}`, "InvalidParameter.OutOfRange", "Volume"},
		{"Volume 0", `{"Volume":0}`, "", ""},
		{"SeekSecond -1", `{"SeekSecond":-1}`, "InvalidParameter.OutOfRange", "SeekSecond"},
		{"Tempo 3", `{"Tempo":3}`, "InvalidParameter.OutOfRange", "Tempo"},
		{"Tempo 1.25", `{"Tempo":1.25}`, "", ""},
		{"IdleTimeout 601", `{"IdleTimeout":601}`, "InvalidParameter.OutOfRange", "IdleTimeout"},
		{"string room with an integer type", `{"RoomId":"room_a"}`, "InvalidParameter.RoomId", "integer"},
		{"RoomIdType 2", `{"RoomIdType":2}`, "InvalidParameter.OutOfRange", "RoomIdType"},
		{"UserId too long", `{"UserId":"` + strings.Repeat("u", 33) + `"}`, "InvalidParameter.UserId", "32 bytes"},
		{"empty UserSig", `{"UserSig":""}`, "MissingParameter.UserSig", "UserSig"},
		{"video encode", `{"VideoEncodeParams":{"Width":1280,"Height":720,"Fps":25,"BitRate":1500,"Gop":2}}`, "", ""},
		{"video too wide", `{"VideoEncodeParams":{"Width":1921}}`, "InvalidParameter.EncodeParams", "Width"},
		{"gop 3", `{"VideoEncodeParams":{"Gop":3}}`, "InvalidParameter.EncodeParams", "Gop"},
		{"sample rate 32000", `{"AudioEncodeParams":{"SampleRate":32000}}`, "InvalidParameter.AudioEncodeParams", "SampleRate"},
		{"three channels", `{"AudioEncodeParams":{"Channel":3}}`, "InvalidParameter.AudioEncodeParams", "Channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ingestSpec(withIngest(t, c.patch))
			if c.code == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			te, ok := tcerr.As(err)
			if !ok || te.Code != c.code || !strings.Contains(te.Message, c.inMsg) {
				t.Fatalf("err = %v, want %s naming %q", err, c.code, c.inMsg)
			}
		})
	}
}

// FuzzIngestParams: any StartStreamIngest body that passes the schema is accepted or
// refused with a Tencent-style code, never a panic; an accepted spec keeps the limits.
func FuzzIngestParams(f *testing.F) {
	f.Add(`{}`)
	f.Add(`{"RepeatNum":-1,"MaxDuration":10080,"Volume":200,"Tempo":2}`)
	f.Add(`{"StreamUrl":null,"SourceUrl":["rtmp://h/a/b"]}`)
	f.Add(`{"VideoEncodeParams":{"Width":0,"Gop":1},"AudioEncodeParams":{"SampleRate":44100,"Channel":2,"BitRate":8}}`)
	f.Fuzz(func(t *testing.T, patch string) {
		var p map[string]any
		if json.Unmarshal([]byte(patch), &p) != nil {
			return
		}
		var base map[string]any
		json.Unmarshal([]byte(validIngest), &base)
		merge(base, p)
		b, _ := json.Marshal(base)
		var req wire.StartStreamIngestRequest
		if json.Unmarshal(b, &req) != nil || req.SdkAppId == nil || req.RoomId == nil || req.UserId == nil || req.UserSig == nil {
			return // the schema check refuses these before validation
		}
		spec, err := ingestSpec(&req)
		if err != nil {
			if _, ok := tcerr.As(err); !ok {
				t.Fatalf("a refusal without a code: %v", err)
			}
			return
		}
		if spec.RepeatNum == 0 || spec.RepeatNum < -1 || spec.RepeatNum > maxRepeatNum || spec.Volume < 0 || spec.Volume > maxIngestVolume ||
			spec.StreamUrl == "" || len(spec.StreamUrl) > maxSourceURLBytes || spec.SeekSecond < 0 {
			t.Fatalf("accepted out of its limits: %+v", spec)
		}
	})
}
