// Package storagetest checks storage.Store implementations: Run is the conformance
// suite every backend passes (the embedded store, the S3 facade through the uploaders,
// real S3 and COS endpoints), and Faulty wraps a Store to fail chosen calls, for tests
// of code that must survive storage errors.
package storagetest
