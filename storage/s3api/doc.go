// Package s3api serves a storage backend (the embedded store) over the S3 REST API, so
// that aws-sdk-go-v2, the aws CLI and cos-go-sdk-v5 can list, fetch and upload objects.
//
// Addressing. Path-style under a prefix: with Config.Prefix "/storage", the endpoint is
// http://127.0.0.1:4599/storage and a request for bucket b and key k is
// /storage/b/k; the bucket is the first path segment after the prefix, the key the
// percent-decoded rest (so "%2F" and "/" are the same key, as in S3). The handler must be
// mounted without path cleaning (not behind http.ServeMux for the prefix, which would
// redirect "/storage/b/../x"): keys may legally contain "..", and they never become
// file paths. Virtual-hosted style is also understood when the Host header is
// <bucket>.cos.<region>.myqcloud.com (or .tencentcos.cn), <bucket>.s3[.-]…amazonaws.com
// or <bucket>.localhost: then the whole path is the key. Match tells whether a request
// is for this handler.
//
// Clients. aws-sdk-go-v2: BaseEndpoint = the prefix URL, UsePathStyle = true, any
// region; its default checksums (x-amz-checksum-crc32 headers, and over HTTPS the
// aws-chunked encoding with a trailing checksum) are decoded and verified.
// cos-go-sdk-v5 resolves every request path ("/<key>") against BucketURL, which drops
// any path in BucketURL: either give its http.Client a transport that puts the
// "/storage/<bucket>" prefix back (cosup.PathPrefix does), or keep BucketURL at the
// listener and set Client.Host to "<bucket>.cos.<region>.myqcloud.com". It checks
// x-cos-hash-crc64ecma on uploads, so responses carry it.
//
// Authentication: none is enforced, like LocalStack's default. The Authorization header
// (AWS SigV4 "AWS4-HMAC-SHA256 Credential=AK/date/region/s3/aws4_request, …", SigV2
// "AWS AK:sig", COS "q-sign-algorithm=sha1&q-ak=AK&…") and presigned query parameters
// are parsed only to log the access key; signatures are not checked, and a missing or
// malformed header is accepted. Bind the listener to loopback.
//
// Integrity: Content-MD5, x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} (header or
// aws-chunked trailer) and, when nothing cheaper covers the body, a hex
// x-amz-content-sha256 are verified before the object is committed (BadDigest,
// XAmzContentSHA256Mismatch); responses echo the checksums, carry the stored CRC-32
// when asked (x-amz-checksum-mode) and COS's x-cos-hash-crc64ecma. Bodies are capped
// by Config.MaxObjectSize and Config.MaxXMLSize.
//
// Errors are S3's XML documents (<Error><Code>…</Code><Message>…</Message>…) with S3's
// status codes; bad input is always a 4xx, operations the emulator does not offer
// (ACLs, tagging, versioning, CopyObject, ListParts…) are 501 NotImplemented.
package s3api
