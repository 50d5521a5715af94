// Package embedded is the object store in the emulator's data dir: buckets are
// directories, objects are files, and every file operation goes through an os.Root, so
// neither keys nor symlinks planted in the directory can reach outside it.
//
// Layout under the root (keys never appear in a path; bucket names are checked by
// storage.CheckBucket and are one harmless path component):
//
//	<bucket>/created                 marker; its mtime is the bucket's creation time
//	<bucket>/o/<h[:2]>/<h>           object: content, then its metadata (JSON), then a footer;
//	                                 h = hex SHA-256 of the key
//	<bucket>/u/<upload id>/upload    an unfinished multipart upload's key and content type
//	<bucket>/u/<upload id>/<n>       its part n, in the object format
//	<bucket>/t/                      files being written; renamed into place when complete
//
// A write is a temp file renamed over its target, so readers see the old object or the
// new one, never a part. Listing uses a sorted index of each bucket's keys, built from
// the files on first use and kept by this process: one Store per directory at a time.
//
// It imports nothing of ours but storage.
package embedded
