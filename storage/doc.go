// Package storage owns where objects go: the Store interface that the recording job
// writes to, the object metadata it gets back, and the error value a storage service
// answers with (Code and Message, as S3 and COS spell them), which the job puts into
// its 308 callback unchanged.
//
// The backends live in sub-packages: embedded (objects in a directory of the data dir,
// contained by os.Root), s3api (the S3 REST facade over the embedded store, for
// aws-sdk-go-v2, aws s3 and cos-go-sdk-v5), cosup and s3up (uploaders to COS and S3 or
// any endpoint speaking their API), and storagetest (the conformance suite every backend
// passes, and a fault-injecting wrapper).
//
// It knows nothing of TRTC tasks and imports nothing of ours.
package storage
