package s3api_test

import (
	"github.com/trtc-emulator/trtc-emulator/storage/embedded"
	"github.com/trtc-emulator/trtc-emulator/storage/s3api"
)

var _ s3api.Backend = (*embedded.Store)(nil)
