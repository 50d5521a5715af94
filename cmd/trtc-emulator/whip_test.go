package main

import (
	"bytes"
	encbin "encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/trtc-emulator/trtc-emulator/internal/testpeer"
	"github.com/trtc-emulator/trtc-emulator/media/whip"
)

// whipClient is a pion publisher as OBS is one: send-only H.264 and Opus, its offer POSTed
// with every candidate (loopback, mDNS off).
type whipClient struct {
	pc           *webrtc.PeerConnection
	video, audio *webrtc.TrackLocalStaticSample
	resource     string
	connected    chan struct{}
}

func newWHIPClient(t *testing.T, endpoint, token string) (*whipClient, int, string) {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(net.IP.IsLoopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &whipClient{pc: pc, connected: make(chan struct{})}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(c.connected) })
		}
	})
	c.video, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "video", "whip")
	c.audio, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "whip")
	for _, tr := range []*webrtc.TrackLocalStaticSample{c.video, c.audio} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	req, _ := http.NewRequest("POST", endpoint, strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return nil, resp.StatusCode, string(answer)
	}
	c.resource = resp.Header.Get("Location")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return c, resp.StatusCode, ""
}

// send plays an Annex B H.264 file (one access unit per picture at fps) and an Ogg Opus
// file (one 20 ms packet per page) in real time, as a camera and a microphone would.
func (c *whipClient) send(t *testing.T, h264File, oggFile string, fps int) error {
	vf, err := os.Open(h264File)
	if err != nil {
		return err
	}
	defer vf.Close()
	af, err := os.Open(oggFile)
	if err != nil {
		return err
	}
	defer af.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		r, err := h264reader.NewReader(vf)
		if err != nil {
			errs <- err
			return
		}
		tick := time.NewTicker(time.Second / time.Duration(fps))
		defer tick.Stop()
		var au []byte
		for {
			nal, err := r.NextNAL()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			au = append(append(au, 0, 0, 0, 1), nal.Data...)
			if nal.UnitType != h264reader.NalUnitTypeCodedSliceIdr && nal.UnitType != h264reader.NalUnitTypeCodedSliceNonIdr {
				continue // parameter sets and SEI go with the next picture
			}
			<-tick.C
			if err := c.video.WriteSample(media.Sample{Data: au, Duration: time.Second / time.Duration(fps)}); err != nil {
				errs <- err
				return
			}
			au = nil
		}
	})
	wg.Go(func() {
		r, _, err := oggreader.NewWith(af)
		if err != nil {
			errs <- err
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			page, header, err := r.ParseNextPage()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			if header.GranulePosition == 0 {
				continue // the OpusHead and OpusTags pages
			}
			<-tick.C
			if err := c.audio.WriteSample(media.Sample{Data: page, Duration: 20 * time.Millisecond}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	return <-errs
}

// TestWHIPPublishRecorded: a pion client publishes H.264 and Opus over WHIP with a token of
// `whip-token`'s format; it is an anchor of the room (Source whip, the H.264 as sent, the
// Opus as 48 kHz stereo AAC) until it DELETEs its resource. A single-stream recording of
// the room holds its 320x240 H.264 and AAC audio that decodes (ffmpeg) to the 440 Hz tone
// it sent. A token with a wrong UserSig is refused and never a member.
func TestWHIPPublishRecorded(t *testing.T) {
	ffmpeg := testpeer.FFmpeg(t)
	testpeer.FFprobe(t)
	dir := t.TempDir()
	h264File, oggFile := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "6", "-c:v", "libx264", "-profile:v", "baseline",
			"-bf", "0", "-g", "15", "-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-f", "h264", h264File},
		{"-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:a", "libopus", "-b:a", "64k",
			"-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", oggFile},
	} {
		if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	rcv := startReceiver(t, "whipKey")
	p := start(t, []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir(), "TRTC_EMULATOR_CALLBACK_URL=" + rcv.url,
		"TRTC_EMULATOR_CALLBACK_KEY=whipKey", "TRTC_EMULATOR_RECORDING_SEGMENT=2s"})
	var info struct{ Endpoints map[string]string }
	control(t, "GET", "http://"+p.addr+"/_emulator/v1/info", nil, &info)
	endpoint := info.Endpoints["Whip"]
	if endpoint != "http://"+p.addr+"/whip" {
		t.Fatalf("info announces WHIP at %q", endpoint)
	}
	const room = "whip_room"
	storage := map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": recordingBucket, "AccessKey": "a", "SecretKey": "b"}
	params := recordingParams(room, "rec_whip", robotSig(t, "rec_whip"), storage, map[string]any{"RecordMode": 1, "MaxIdleTime": 300})
	params["RoomIdType"] = 0
	resp, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "CreateCloudRecording", params)
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)

	// The token as `trtc-emulator whip-token` prints it.
	out, err := exec.Command(binary, "whip-token", "-userid", "obs", "-strroomid", room).Output()
	if err != nil {
		t.Fatalf("whip-token: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if tok, err := whip.ParseToken(token); err != nil || tok.RoomId != room || tok.UserId != "obs" || tok.RoomIdType != 0 {
		t.Fatalf("whip-token printed %q: %+v %v", token, tok, err)
	}
	bad := whip.Token{SdkAppId: defaultSdkAppId, RoomId: room, UserId: "intruder", UserSig: "not-a-usersig"}
	if _, status, msg := newWHIPClient(t, endpoint, bad.String()); status != http.StatusForbidden || !strings.Contains(msg, "UserSig") {
		t.Fatalf("a wrong UserSig: HTTP %d %s", status, msg)
	}
	if got := ingestRoom(t, p.addr, room, "intruder"); got != "" {
		t.Fatalf("a refused publisher is a member: %s", got)
	}

	c, status, msg := newWHIPClient(t, endpoint, token)
	if c == nil {
		t.Fatalf("WHIP publish: HTTP %d %s", status, msg)
	}
	select {
	case <-c.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the WHIP connection did not come up")
	}
	sent := make(chan error, 1)
	go func() { sent <- c.send(t, h264File, oggFile, 15) }()
	waitFor(t, "the WHIP anchor's streams", 10*time.Second, func() bool {
		return ingestRoom(t, p.addr, room, "obs") == "whip true true main-video:H264:320x240:0/0 audio:AAC:0x0:48000/2"
	})
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("DELETE", "http://"+p.addr+c.resource, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %v %v", c.resource, resp, err)
	}
	waitFor(t, "the anchor gone", 10*time.Second, func() bool { return ingestRoom(t, p.addr, room, "obs") == "" })

	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DeleteCloudRecording",
		map[string]any{"SdkAppId": defaultSdkAppId, "TaskId": taskId}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "305", 30*time.Second, func() bool { return len(rcv.of(taskId, 305)) == 1 })
	rec := t.TempDir()
	download(t, s3Client("http://"+p.addr+"/storage"), recordingBucket, taskId+"/", rec)
	prefix := "1400000001_" + encodeForTest(room) + "__UserId_s_" + encodeForTest("obs") + "__UserId_e_main_"
	v := testpeer.ProbeFile(t, filepath.Join(rec, prefix+"video.m3u8"))
	if len(v.Streams) != 1 || v.Streams[0].CodecName != "h264" || v.Streams[0].Width != 320 || v.Streams[0].Height != 240 || v.Seconds() < 4.5 {
		t.Fatalf("the WHIP video recorded: %+v, %.2f s of 6 s sent", v.Streams, v.Seconds())
	}
	audio := filepath.Join(rec, prefix+"audio.m3u8")
	a := testpeer.ProbeFile(t, audio)
	if len(a.Streams) != 1 || a.Streams[0].CodecName != "aac" || a.Streams[0].SampleRate != "48000" || a.Seconds() < 4.5 {
		t.Fatalf("the WHIP audio recorded: %+v, %.2f s", a.Streams, a.Seconds())
	}
	// The recorded AAC is the sent tone: Opus decoded, re-encoded.
	raw, err := exec.Command(ffmpeg, "-v", "error", "-i", audio, "-ac", "1", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode the recorded audio: %v", err)
	}
	pcm := make([]int16, len(raw)/2)
	encbin.Read(bytes.NewReader(raw), encbin.LittleEndian, pcm)
	tone, other := testpeer.ToneLevel(pcm, 48000, 440), testpeer.ToneLevel(pcm, 48000, 1000)
	t.Logf("recorded audio: 440 Hz at %.4f, 1 kHz at %.4f of full scale", tone, other)
	if tone < 0.05 || tone < 20*other {
		t.Fatalf("the recorded audio is not the 440 Hz tone sent: 440 Hz %.4f, 1 kHz %.4f", tone, other)
	}
	p.stop(t)
}
