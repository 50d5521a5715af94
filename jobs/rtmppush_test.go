package jobs

import (
	"net/url"
	"testing"

	"github.com/trtc-emulator/trtc-emulator/media/rtmp"
)

// FuzzPushURL: any publish URL either names a member (an application, a room id by the
// push rule, a user) or is refused with an error; it never panics.
func FuzzPushURL(f *testing.F) {
	for _, s := range []string{
		"rtmp://127.0.0.1:1935/push/room_1?sdkappid=1400000001&userid=obs&usersig=x",
		"rtmp://h/push/hello-string-room?sdkappid=1&userid=u",
		"rtmp://h/live/room?sdkappid=1&userid=u", "rtmp://h/push/?sdkappid=1", "rtmp://h/push/a/b", "rtmp://h/push/r?sdkappid=0&userid=u",
		"rtmp://h/push/r%2Fx?sdkappid=99999999999&userid=u", "rtmp://h/push/" + string(make([]byte, 70)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		req, err := rtmp.ParseRequest(u)
		if err != nil {
			return
		}
		id, err := pushIdentity(req)
		if err != nil {
			return
		}
		if !pushRoomId.MatchString(id.RoomId) || id.SdkAppId == 0 || id.SdkAppId > 1<<32-1 || id.UserId == "" || req.App != rtmp.App {
			t.Fatalf("%q named %+v", raw, id)
		}
	})
}

func TestPushIdentity(t *testing.T) {
	for raw, ok := range map[string]bool{
		"rtmp://h:1935/push/room_1?sdkappid=1400000001&userid=obs&usersig=x": true,
		"rtmp://h/push/hello-string-room?sdkappid=1400000001&userid=u":       true, // the seed's example
		"rtmp://h/live/room_1?sdkappid=1400000001&userid=u":                  false,
		"rtmp://h/push/room.1?sdkappid=1400000001&userid=u":                  false,
		"rtmp://h/push/room_1?sdkappid=abc&userid=u":                         false,
		"rtmp://h/push/room_1?sdkappid=1400000001":                           false,
	} {
		u, _ := url.Parse(raw)
		req, err := rtmp.ParseRequest(u)
		if err == nil {
			_, err = pushIdentity(req)
		}
		if (err == nil) != ok {
			t.Errorf("%s: err = %v, want ok %v", raw, err, ok)
		}
	}
}
