package handlers

import (
	"context"
	"net"
	"reflect"
	"strings"

	"github.com/trtc-emulator/trtc-emulator/cam"
	"github.com/trtc-emulator/trtc-emulator/tcerr"
	"github.com/trtc-emulator/trtc-emulator/wire"
)

// Call is one authenticated API call.
type Call struct {
	Ctx       context.Context
	RequestId string
	Action    string
	Region    string
	Caller    cam.Key
}

// action is a row of the action table: the request schema and what runs it (nil = the
// action is part of the contract but not built yet: UnsupportedOperation).
type action struct {
	request string
	schema  map[string]*wire.Struct // the service's structs (wire or camwire)
	run     func(h *Handlers, c *Call, checked map[string]any) (any, error)
}

// handle adapts a typed action method to the table: the request has already passed the
// schema check (checkParams), so storing it in its type cannot fail on shape.
func handle[Req, Resp any](fn func(*Handlers, *Call, *Req) (*Resp, error)) func(*Handlers, *Call, map[string]any) (any, error) {
	return func(h *Handlers, c *Call, checked map[string]any) (any, error) {
		req := new(Req)
		if err := assignParams(reflect.ValueOf(req).Elem(), checked); err != nil {
			return nil, err
		}
		resp, err := fn(h, c, req)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// trtcImplemented maps each built TRTC action to its handler.
var trtcImplemented = map[string]func(*Handlers, *Call, map[string]any) (any, error){
	"DismissRoom":               handle((*Handlers).DismissRoom),
	"DismissRoomByStrRoomId":    handle((*Handlers).DismissRoomByStrRoomId),
	"DescribeRoomInfo":          handle((*Handlers).DescribeRoomInfo),
	"RemoveUser":                handle((*Handlers).RemoveUser),
	"RemoveUserByStrRoomId":     handle((*Handlers).RemoveUserByStrRoomId),
	"DescribeUserInfo":          handle((*Handlers).DescribeUserInfo),
	"DescribeUserEvent":         handle((*Handlers).DescribeUserEvent),
	"DescribeCallDetailInfo":    handle((*Handlers).DescribeCallDetailInfo),
	"SetUserBlocked":            handle((*Handlers).SetUserBlocked),
	"SetUserBlockedByStrRoomId": handle((*Handlers).SetUserBlockedByStrRoomId),
	"CreateCloudRecording":      handle((*Handlers).CreateCloudRecording),
	"DescribeCloudRecording":    handle((*Handlers).DescribeCloudRecording),
	"ModifyCloudRecording":      handle((*Handlers).ModifyCloudRecording),
	"DeleteCloudRecording":      handle((*Handlers).DeleteCloudRecording),
	"StartStreamIngest":         handle((*Handlers).StartStreamIngest),
	"UpdateStreamIngest":        handle((*Handlers).UpdateStreamIngest),
	"StopStreamIngest":          handle((*Handlers).StopStreamIngest),
	"DescribeStreamIngest":      handle((*Handlers).DescribeStreamIngest),
	"StartPublishCdnStream":     handle((*Handlers).StartPublishCdnStream),
	"UpdatePublishCdnStream":    handle((*Handlers).UpdatePublishCdnStream),
	"StopPublishCdnStream":      handle((*Handlers).StopPublishCdnStream),

	"StartMCUMixTranscode":            handle((*Handlers).StartMCUMixTranscode),
	"StopMCUMixTranscode":             handle((*Handlers).StopMCUMixTranscode),
	"StartMCUMixTranscodeByStrRoomId": handle((*Handlers).StartMCUMixTranscodeByStrRoomId),
	"StopMCUMixTranscodeByStrRoomId":  handle((*Handlers).StopMCUMixTranscodeByStrRoomId),
}

// trtcActions is the action table of trtc 2019-07-22: every action of the wire schema.
var trtcActions = func() map[string]action {
	t := make(map[string]action, len(wire.Actions))
	for _, a := range wire.Actions {
		t[a.Name] = action{request: a.Request, schema: wire.Structs, run: trtcImplemented[a.Name]}
	}
	for _, name := range wire.OtherActions {
		t[name] = action{} // a real TRTC action outside the emulator's contract
	}
	for name := range trtcImplemented {
		if _, ok := t[name]; !ok {
			panic("handlers: " + name + " is implemented but not in the wire schema")
		}
	}
	return t
}()

// service picks the action table from X-TC-Version, checked against a "trtc."/"cam."
// host prefix when the client uses such a name (the credential scope's service is not
// used: the Node SDK writes the endpoint's first label there).
func (h *Handlers) service(host, version string) (map[string]action, error) {
	hostname := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		hostname = hn
	}
	label, _, _ := strings.Cut(hostname, ".")
	switch {
	case version == versionTRTC && label != "cam":
		return trtcActions, nil
	case version == versionCAM && label != "trtc":
		return camActions, nil
	}
	return nil, tcerr.New(tcerr.CodeNoSuchVersion, "The API version %q does not exist for this service (trtc is %s, cam is %s).", version, versionTRTC, versionCAM)
}
