package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/trtc-emulator/trtc-emulator/cam/usersig"
)

func recordingCreate(t *testing.T, room string, storage map[string]any) map[string]any {
	sig, err := usersig.Gen(usersig.Params{SdkAppId: testSdkAppId, Key: testSdkSecretKey, UserId: "robot_" + room, Expire: time.Hour, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"SdkAppId": testSdkAppId, "RoomId": room, "UserId": "robot_" + room, "UserSig": sig,
		"RecordParams": map[string]any{"RecordMode": 1}, "StorageParams": map[string]any{"CloudStorage": storage}}
}

// TestCreateCloudRecordingRefusesBadStorage: through the SDK, storage parameters that can
// never be uploaded to are refused at create time with InvalidParameter.*, instead of a
// TaskId whose uploads are retried for ever.
func TestCreateCloudRecordingRefusesBadStorage(t *testing.T) {
	e := startEmulator(t)
	c := e.client()
	storage := func(vendor int, region, bucket string) map[string]any {
		return map[string]any{"Vendor": vendor, "Region": region, "Bucket": bucket, "AccessKey": "ak", "SecretKey": "sk"}
	}
	for _, tc := range []struct {
		name    string
		storage map[string]any
		code    string
	}{
		{"cos bucket escaping its directory", storage(0, "ap-guangzhou", "../../x"), "InvalidParameter.Bucket"},
		{"cos bucket without appid", storage(0, "ap-guangzhou", "records"), "InvalidParameter.Bucket"},
		{"s3 bucket escaping its directory", storage(1, "us-east-1", "../../x"), "InvalidParameter.Bucket"},
		{"s3 bucket in capitals", storage(1, "us-east-1", "Records"), "InvalidParameter.Bucket"},
		{"region with a path", storage(0, "../ap-guangzhou", "records-1250000000"), "InvalidParameter.Region"},
		{"vendor 2", storage(2, "ap-guangzhou", "records-1250000000"), "InvalidParameter.OutOfRange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, c, "CreateCloudRecording", recordingCreate(t, "7001", tc.storage))
			expectCode(t, err, tc.code)
		})
	}
	resp, err := call(t, c, "CreateCloudRecording", recordingCreate(t, "7002", storage(1, "us-east-1", "records.2026")))
	if err != nil {
		t.Fatalf("a valid S3 bucket: %v", err)
	}
	if id, _ := resp["TaskId"].(string); id == "" {
		t.Fatalf("no TaskId: %v", resp)
	}
}

// TestRecordingFilesControlAPI: GET /_emulator/v1/recordings/{TaskId}/files answers as
// openapi.yaml says, for a task and for an unknown one.
func TestRecordingFilesControlAPI(t *testing.T) {
	e := startEmulator(t)
	resp, err := call(t, e.client(), "CreateCloudRecording", recordingCreate(t, "7003",
		map[string]any{"Vendor": 0, "Region": "ap-guangzhou", "Bucket": "records-1250000000", "AccessKey": "ak", "SecretKey": "sk"}))
	if err != nil {
		t.Fatal(err)
	}
	taskId := resp["TaskId"].(string)
	router := controlRouter(t, e)
	for _, tc := range []struct {
		path   string
		status int
	}{{"/_emulator/v1/recordings/" + taskId + "/files", 200}, {"/_emulator/v1/recordings/no-such-task/files", 404}} {
		req, _ := http.NewRequest("GET", "http://"+e.addr+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Fatalf("%s: %d %s", tc.path, res.StatusCode, body)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("no operation for %s: %v", tc.path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("request: %v", err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
			Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Fatalf("%s: response does not match the spec: %v\n%s", tc.path, err, body)
		}
		if tc.status == 200 {
			var v struct {
				TaskId, State string
				Files         []any
			}
			json.Unmarshal(body, &v)
			if v.TaskId != taskId || v.State != "recording" || v.Files == nil {
				t.Fatalf("listing %s", body)
			}
		}
	}
}
