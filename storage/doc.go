// Package storage owns where recordings go: the object store interface, the embedded
// S3-compatible store, and the COS (cos-go-sdk-v5) and S3 (aws-sdk-go-v2) uploaders with
// a spool and retries. It knows nothing of TRTC tasks.
//
// Empty so far: it arrives with cloud recording.
package storage
