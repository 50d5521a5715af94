// Command go-sdk calls the emulator with the official Go SDK (README.md quotes this file).
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

func main() {
	endpoint := os.Getenv("TRTC_EMULATOR_ENDPOINT") // host:port, no scheme
	if endpoint == "" {
		endpoint = "127.0.0.1:4599"
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = endpoint
	cpf.HttpProfile.Scheme = "http"
	cred := common.NewCredential("AKIDtrtcEmulatorDefaultSecretId00000", "trtcEmulatorDefaultSecretKey0000")
	client := common.NewCommonClient(cred, "ap-guangzhou", cpf)

	now := time.Now().Unix()
	req := tchttp.NewCommonRequest("trtc", "2019-07-22", "DescribeRoomInfo")
	req.SetActionParameters(map[string]any{"SdkAppId": 1400000001, "StartTime": now - 3600, "EndTime": now})
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		fmt.Fprintln(os.Stderr, err) // e.g. [TencentCloudSDKError] Code=AuthFailure.SignatureFailure …
		os.Exit(1)
	}
	fmt.Println(string(resp.GetBody())) // {"Response":{"Total":0,"RoomList":[],"RequestId":"…"}}
}
