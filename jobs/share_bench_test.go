package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
	"github.com/trtc-emulator/trtc-emulator/models"
)

// BenchmarkTasksShareEncoders: 10 anchors (640x360@15 and audio) in one room, recorded by
// 1 or 3 single-stream tasks (HLS) for 20 s of fake time, as fast as the CPU allows. The
// anchors' media is encoded once in the hub however many tasks record it, so 3 tasks cost
// one encoding plus three muxings and uploads, not three encodings. ns/op is the whole
// run; media-s/s is recorded media per wall second over all tasks.
func BenchmarkTasksShareEncoders(b *testing.B) {
	const anchors, media = 10, 20 * time.Second
	for _, tasks := range []int{1, 3} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			var total time.Duration
			b.StopTimer()
			for range b.N {
				rig := newRecorderRigWith(b, nil, nil)
				ctx := context.Background()
				sig := func(user string) string {
					s, _ := usersig.Gen(usersig.Params{SdkAppId: recApp, Key: recKey, UserId: user, Expire: 48 * time.Hour, Now: rig.clock.Now()})
					return s
				}
				for i := range anchors {
					user := fmt.Sprint("anchor-", i)
					if _, err := rig.store.Enter(ctx, models.EnterParams{Identity: models.Identity{SdkAppId: recApp, RoomId: "9",
						RoomIdType: models.RoomIdInt, UserId: user}, UserSig: sig(user), Publish: models.Publish{Audio: true, Video: true},
						VideoWidth: 640, VideoHeight: 360, VideoFps: 15}); err != nil {
						b.Fatal(err)
					}
				}
				for i := range tasks {
					robot := fmt.Sprint("robot-", i)
					spec := models.RecordingSpec{SdkAppId: recApp, RoomId: "9", RoomIdType: models.RoomIdInt, RobotUserId: robot,
						RecordMode: 1, MaxIdleTime: 3600, ResourceExpiredHour: 72, MaxMediaFileMinutes: 1440,
						Storage: models.StorageTarget{Region: "ap-guangzhou", Bucket: recBucket, AccessKey: "a", SecretKey: "b"}}
					if _, err := rig.store.CreateRecording(ctx, recUin, &spec, sig(robot), ""); err != nil {
						b.Fatal(err)
					}
				}
				rig.rec.Wake()
				start := time.Now()
				b.StartTimer()
				rig.runWaiting(media, 1+3*tasks) // the claim loop, and each task's run and upload loops and renewal
				b.StopTimer()
				total += time.Since(start)
				rig.stop()
				<-rig.done
				rig.done <- nil // for the rig's cleanup
			}
			b.StartTimer()
			b.ReportMetric(float64(tasks*anchors)*media.Seconds()*float64(b.N)/total.Seconds(), "media-s/s")
		})
	}
}
