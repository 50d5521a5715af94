package s3api_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

// BenchmarkSDK measures PUT and GET of 1 MiB objects with aws-sdk-go-v2 (default
// checksums: CRC32 computed by the client and verified by the server) through the
// handler over loopback, with and without fsync.
func BenchmarkSDK(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, sync := range []bool{false, true} {
		e := newEnv(b, false, s3api.Config{})
		if sync {
			st, err := embedded.Open(b.TempDir(), embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			*e.h = *s3api.New(st, s3api.Config{Prefix: "/storage"})
		}
		c := e.s3Client("us-east-1")
		bucket := "bench-1250000000"
		name := fmt.Sprintf("sync=%v", sync)
		b.Run("PUT/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(fmt.Sprintf("obj-%d", i%64)), Body: bytes.NewReader(body)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("GET/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(fmt.Sprintf("obj-%d", i%64))})
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, out.Body)
				out.Body.Close()
				if err != nil || n != int64(len(body)) {
					b.Fatal(n, err)
				}
			}
		})
		b.Run("PUT-parallel8/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.SetParallelism(8)
			i := 0
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i++
					_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(fmt.Sprintf("p-%p-%d", pb, i%64)), Body: bytes.NewReader(body)})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
