// Command record-go starts a cloud recording of a room with the official Go SDK: HLS to the
// emulator's embedded object store (README.md quotes this file).
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

func main() {
	endpoint, room := os.Getenv("TRTC_EMULATOR_ENDPOINT"), os.Args[1] // host:port; a string room id
	if endpoint == "" {
		endpoint = "127.0.0.1:4599"
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint, cpf.HttpProfile.Scheme = endpoint, "http"
	client := common.NewCommonClient(common.NewCredential("AKIDtrtcEmulatorDefaultSecretId00000",
		"trtcEmulatorDefaultSecretKey0000"), "ap-guangzhou", cpf)
	// The recording robot enters the room with a UserSig of its own (default app's key).
	sig, _ := usersig.Gen(usersig.Params{SdkAppId: 1400000001, UserId: "recorder", Expire: time.Hour, Now: time.Now(),
		Key: "ca83e59afa9f9111b5432673f1a1ccb47e26f649dfdaab8581db7a6702cf9f93"})
	req := tchttp.NewCommonRequest("trtc", "2019-07-22", "CreateCloudRecording")
	req.SetActionParameters(map[string]any{"SdkAppId": 1400000001, "RoomId": room, "RoomIdType": 0,
		"UserId": "recorder", "UserSig": sig,
		"RecordParams": map[string]any{"RecordMode": 1, "MaxIdleTime": 30, "OutputFormat": 0},
		"StorageParams": map[string]any{"CloudStorage": map[string]any{"Vendor": 1, "Region": "ap-guangzhou",
			"Bucket": "demo", "AccessKey": "any", "SecretKey": "any"}}})
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(resp.GetBody())) // {"Response":{"TaskId":"…","RequestId":"…"}}
}
