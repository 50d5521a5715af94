// Command cam-go sets up a restricted key with the official Go SDK's CAM calls: a sub-user
// that may do anything on application 1400000001 except RemoveUser (README.md quotes this
// file).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

const policy = `{"version":"2.0","statement":[
 {"effect":"allow","action":["name/trtc:*"],"resource":["qcs::trtc::uin/100000000001:sdkappid/1400000001"]},
 {"effect":"deny","action":["name/trtc:RemoveUser"],"resource":["qcs::trtc::uin/100000000001:sdkappid/1400000001"]}]}`

func client(id, key string) *common.Client {
	endpoint := os.Getenv("TRTC_EMULATOR_ENDPOINT") // host:port, no scheme
	if endpoint == "" {
		endpoint = "127.0.0.1:4599"
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = endpoint
	cpf.HttpProfile.Scheme = "http"
	return common.NewCommonClient(common.NewCredential(id, key), "ap-guangzhou", cpf)
}

// send calls one action and returns its Response object.
func send(c *common.Client, service, version, action string, params map[string]any) (map[string]any, error) {
	req := tchttp.NewCommonRequest(service, version, action)
	req.SetActionParameters(params)
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return nil, err
	}
	var body struct{ Response map[string]any }
	err := json.Unmarshal(resp.GetBody(), &body)
	return body.Response, err
}

func main() {
	root := client("AKIDtrtcEmulatorDefaultSecretId00000", "trtcEmulatorDefaultSecretKey0000")
	cam := func(action string, params map[string]any) map[string]any {
		r, err := send(root, "cam", "2019-01-16", action, params)
		if err != nil {
			fmt.Fprintln(os.Stderr, action, err)
			os.Exit(1)
		}
		return r
	}
	user := cam("AddUser", map[string]any{"Name": os.Args[1], "UseApi": 1})
	policyId := cam("CreatePolicy", map[string]any{"PolicyName": os.Args[1] + "-policy", "PolicyDocument": policy})["PolicyId"]
	cam("AttachUserPolicy", map[string]any{"PolicyId": policyId, "AttachUin": user["Uin"]})

	restricted := client(user["SecretId"].(string), user["SecretKey"].(string))
	_, err := send(restricted, "trtc", "2019-07-22", "RemoveUser",
		map[string]any{"SdkAppId": 1400000001, "RoomId": 1234, "UserIds": []string{"alice"}})
	fmt.Println(err) // [TencentCloudSDKError] Code=AuthFailure.UnauthorizedOperation, Message=You are not authorized …
}
