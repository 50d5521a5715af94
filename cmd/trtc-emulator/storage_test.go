package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trtc-emulator/trtc-emulator/storage/cosup"
)

// TestObjectStoreOnTheListener: /_emulator/v1/info announces the embedded store, and the
// official S3 and COS clients write, list and read through the emulator's own listener;
// objects survive a restart; the TRTC API still answers beside it.
func TestObjectStoreOnTheListener(t *testing.T) {
	env := []string{"TRTC_EMULATOR_DATA_DIR=" + t.TempDir()}
	p := start(t, env)
	resp, err := http.Get("http://" + p.addr + "/_emulator/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Endpoints map[string]string }
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	endpoint := info.Endpoints["S3"]
	if endpoint != "http://"+p.addr+"/storage" || info.Endpoints["Cos"] != endpoint {
		t.Fatalf("info endpoints %v", info.Endpoints)
	}
	ctx := context.Background()
	client := s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: "ap-guangzhou",
		Credentials: credentials.NewStaticCredentialsProvider("anyKey", "anySecret", "")})
	key := "rec/task-1/1400000001_1234.m3u8"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("recordings-1250000000"), Key: aws.String(key),
		Body: strings.NewReader("#EXTM3U\n"), ContentType: aws.String("application/vnd.apple.mpegurl")}); err != nil {
		t.Fatal(err)
	}
	cos := cosup.NewCOS(cosup.Config{Endpoint: endpoint, Bucket: "recordings-1250000000", SecretId: "id", SecretKey: "key"})
	if err := cos.Put(ctx, "", "rec/task-1/1400000001_1234_20261125.ts", strings.NewReader("ts-bytes"), 8, "video/mp2t"); err != nil {
		t.Fatal(err)
	}
	p.stop(t)

	p = start(t, env)
	endpoint = "http://" + p.addr + "/storage"
	client = s3.New(s3.Options{BaseEndpoint: aws.String(endpoint), UsePathStyle: true, Region: "ap-guangzhou",
		Credentials: credentials.NewStaticCredentialsProvider("anyKey", "anySecret", "")})
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("recordings-1250000000"), Prefix: aws.String("rec/task-1/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 2 {
		t.Fatalf("listed %d objects after a restart", len(list.Contents))
	}
	cos = cosup.NewCOS(cosup.Config{Endpoint: endpoint, Bucket: "recordings-1250000000", SecretId: "id", SecretKey: "key"})
	body, _, err := cos.Get(ctx, "", key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if string(got) != "#EXTM3U\n" {
		t.Fatalf("read back %q", got)
	}
	if _, err := sdkCall(p.addr, defaultSecretId, defaultSecretKey, "DismissRoom", map[string]any{"SdkAppId": 1400000001, "RoomId": 7}); codeOf(err) != "FailedOperation.RoomNotExist" {
		t.Fatalf("API beside the store: %v", err)
	}
	p.stop(t)
}
