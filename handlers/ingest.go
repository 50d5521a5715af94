package handlers

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/models"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// Stream ingest limits of the contract (api-contract StartStreamIngest, research §4.5/4.16).
const (
	maxSourceURLBytes  = 2048
	maxRepeatNum       = 1000
	maxIngestMinutes   = 10080
	maxIngestVolume    = 200
	maxIngestIdleTime  = 600
	maxIngestSeekHours = 24 * 365
)

// ingestTempos are the playback speeds StartStreamIngest takes.
var ingestTempos = []float64{0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0}

func (h *Handlers) StartStreamIngest(c *Call, req *wire.StartStreamIngestRequest) (*wire.StartStreamIngestResponse, error) {
	spec, err := ingestSpec(req)
	if err != nil {
		return nil, err
	}
	var privateMapKey string
	if req.PrivateMapKey != nil {
		privateMapKey = *req.PrivateMapKey
	}
	task, err := h.store.StartIngest(c.Ctx, c.Caller.Uin, spec, *req.UserSig, privateMapKey)
	if err != nil {
		return nil, err
	}
	return &wire.StartStreamIngestResponse{TaskId: &task.TaskId}, nil
}

func (h *Handlers) DescribeStreamIngest(c *Call, req *wire.DescribeStreamIngestRequest) (*wire.DescribeStreamIngestResponse, error) {
	status, err := h.store.DescribeIngest(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId)
	if err != nil {
		return nil, err
	}
	return &wire.DescribeStreamIngestResponse{Status: &status}, nil
}

func (h *Handlers) UpdateStreamIngest(c *Call, req *wire.UpdateStreamIngestRequest) (*wire.UpdateStreamIngestResponse, error) {
	var change models.IngestChange
	if req.StreamUrl != nil {
		u, err := validateSourceURL("StreamUrl", *req.StreamUrl)
		if err != nil {
			return nil, err
		}
		change.StreamUrl = &u
	}
	if req.Volume != nil {
		v, err := optInt("Volume", req.Volume, 0, maxIngestVolume, 100)
		if err != nil {
			return nil, err
		}
		change.Volume = &v
	}
	if req.Tempo != nil && !slices.Contains(ingestTempos, *req.Tempo) {
		return nil, tcerr.New("InvalidParameter.OutOfRange", "Tempo is %g: it must be one of 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 and 2.0.", *req.Tempo)
	}
	change.Paused = req.IsPause
	status, err := h.store.UpdateIngest(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId, change)
	if err != nil {
		return nil, err
	}
	return &wire.UpdateStreamIngestResponse{Status: &status}, nil
}

func (h *Handlers) StopStreamIngest(c *Call, req *wire.StopStreamIngestRequest) (*wire.StopStreamIngestResponse, error) {
	if err := h.store.StopIngest(c.Ctx, c.Caller.Uin, *req.SdkAppId, *req.TaskId); err != nil {
		return nil, err
	}
	return &wire.StopStreamIngestResponse{}, nil
}

// ingestSpec checks a StartStreamIngest request against the contract's rules and returns
// its spec for models. The schema (required fields, JSON types) was checked before.
func ingestSpec(req *wire.StartStreamIngestRequest) (*models.IngestSpec, error) {
	spec := &models.IngestSpec{SdkAppId: *req.SdkAppId, UserId: *req.UserId, RepeatNum: 1, Volume: 100, Tempo: 1}
	var err error
	// StartStreamIngest's RoomIdType is CreateCloudRecording's: 0 a string id, 1 an integer.
	if spec.RoomIdType, err = optInt("RoomIdType", req.RoomIdType, 0, 1, models.RoomIdInt); err != nil {
		return nil, err
	}
	if spec.RoomId, err = models.ValidateRoomId("RoomId", *req.RoomId, spec.RoomIdType); err != nil {
		return nil, err
	}
	if spec.UserId == "" || len(spec.UserId) > maxUserIdBytes {
		return nil, tcerr.New("InvalidParameter.UserId", "The UserId %q is invalid: it must be 1 to 32 bytes.", spec.UserId)
	}
	if *req.UserSig == "" {
		return nil, tcerr.New("MissingParameter.UserSig", "The ingest anchor's UserSig is empty.")
	}
	switch {
	case req.StreamUrl != nil && *req.StreamUrl != "":
		spec.StreamUrl, err = validateSourceURL("StreamUrl", *req.StreamUrl)
	case len(req.SourceUrl) == 1:
		spec.StreamUrl, err = validateSourceURL("SourceUrl", req.SourceUrl[0])
	case len(req.SourceUrl) > 1:
		err = tcerr.New("InvalidParameter.SourceUrl", "SourceUrl holds %d URLs: it takes one (StreamUrl is its successor).", len(req.SourceUrl))
	default:
		err = tcerr.New(tcerr.CodeMissingParameter, "The request names no source: set StreamUrl.")
	}
	if err != nil {
		return nil, err
	}
	if req.SeekSecond != nil {
		if *req.SeekSecond < 0 || *req.SeekSecond > maxIngestSeekHours*3600 {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "SeekSecond is %d: it must be 0 or more.", *req.SeekSecond)
		}
		spec.SeekSecond = *req.SeekSecond
	}
	if req.RepeatNum != nil {
		if n := *req.RepeatNum; n == 0 || n < -1 || n > maxRepeatNum {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "RepeatNum is %d: it must be -1 (loop) or 1 to %d.", n, maxRepeatNum)
		}
		spec.RepeatNum = int(*req.RepeatNum)
	}
	if req.MaxDuration != nil {
		if d := *req.MaxDuration; d < 1 || d > maxIngestMinutes {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "MaxDuration is %d: it must be 1 to %d minutes.", d, maxIngestMinutes)
		}
		if spec.RepeatNum == -1 { // the contract: only effective when RepeatNum is -1
			spec.MaxDurationMinutes = int(*req.MaxDuration)
		}
	}
	if spec.Volume, err = optInt("Volume", req.Volume, 0, maxIngestVolume, 100); err != nil {
		return nil, err
	}
	if req.Tempo != nil {
		if !slices.Contains(ingestTempos, *req.Tempo) {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "Tempo is %g: it must be one of 0.5, 0.75, 1.0, 1.25, 1.5, 1.75 and 2.0.", *req.Tempo)
		}
		spec.Tempo = *req.Tempo
	}
	if req.IdleTimeout != nil {
		if d := *req.IdleTimeout; d < 0 || d > maxIngestIdleTime {
			return nil, tcerr.New("InvalidParameter.OutOfRange", "IdleTimeout is %d: it must be 0 to %d seconds.", d, maxIngestIdleTime)
		}
		spec.IdleTimeout = int(*req.IdleTimeout)
	}
	spec.EnableProgress = req.EnableProgress != nil && *req.EnableProgress
	spec.AutoPush = req.AutoPush != nil && *req.AutoPush
	if spec.VideoEncode, err = ingestVideoEncode(req.VideoEncodeParams); err != nil {
		return nil, err
	}
	if spec.AudioEncode, err = ingestAudioEncode(req.AudioEncodeParams); err != nil {
		return nil, err
	}
	return spec, nil
}

func ingestVideoEncode(p *wire.VideoEncodeParams) (*models.IngestVideoEncode, error) {
	if p == nil {
		return nil, nil
	}
	v := &models.IngestVideoEncode{}
	var err error
	for _, f := range []struct {
		name   string
		in     *uint64
		lo, hi int
		out    *int
	}{
		{"VideoEncodeParams.Width", p.Width, 0, 1920, &v.Width},
		{"VideoEncodeParams.Height", p.Height, 0, 1080, &v.Height},
		{"VideoEncodeParams.Fps", p.Fps, 1, 60, &v.Fps},
		{"VideoEncodeParams.BitRate", p.BitRate, 1, 10000, &v.BitRate},
		{"VideoEncodeParams.Gop", p.Gop, 1, 2, &v.Gop},
	} {
		if *f.out, err = optInt(f.name, f.in, f.lo, f.hi, 0); err != nil {
			return nil, tcerr.New("InvalidParameter.EncodeParams", "%s", err.(*tcerr.Error).Message)
		}
	}
	return v, nil
}

func ingestAudioEncode(p *wire.AudioEncodeParams) (*models.IngestAudioEncode, error) {
	if p == nil {
		return nil, nil
	}
	a := &models.IngestAudioEncode{}
	if p.SampleRate != nil {
		if *p.SampleRate != 48000 && *p.SampleRate != 44100 {
			return nil, tcerr.New("InvalidParameter.AudioEncodeParams", "AudioEncodeParams.SampleRate is %d: it must be 48000 or 44100.", *p.SampleRate)
		}
		a.SampleRate = int(*p.SampleRate)
	}
	var err error
	if a.Channel, err = optInt("AudioEncodeParams.Channel", p.Channel, 1, 2, 0); err != nil {
		return nil, tcerr.New("InvalidParameter.AudioEncodeParams", "%s", err.(*tcerr.Error).Message)
	}
	if a.BitRate, err = optInt("AudioEncodeParams.BitRate", p.BitRate, 8, 500, 0); err != nil {
		return nil, tcerr.New("InvalidParameter.AudioEncodeParams", "%s", err.(*tcerr.Error).Message)
	}
	return a, nil
}

// validateSourceURL checks a URL an ingest task pulls: absolute http, https or rtmp with
// a host, at most maxSourceURLBytes. Where it may connect is the address guard's business,
// when the task connects.
func validateSourceURL(field, raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", tcerr.New("InvalidParameter.StreamUrl", "%s %q is invalid: %s.", field, shorten(raw, 200), why)
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > maxSourceURLBytes {
		return bad(fmt.Sprintf("it is longer than %d bytes", maxSourceURLBytes))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("it is not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "rtmp":
	default:
		return bad("the scheme must be http, https or rtmp")
	}
	if u.Hostname() == "" {
		return bad("it has no host")
	}
	return raw, nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
