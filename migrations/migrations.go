// Package migrations holds the versioned SQL schema of the store, embedded in the binary.
// Files are named NNNN_name.sql, applied in order, each once, and never edited after a
// release: a change is a new file.
package migrations

import "embed"

// FS holds the *.sql files.
//
//go:embed *.sql
var FS embed.FS
