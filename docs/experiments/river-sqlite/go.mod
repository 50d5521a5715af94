module rivertry

go 1.26

require (
	github.com/mattn/go-sqlite3 v1.14.22
	github.com/riverqueue/river v0.51.2
	github.com/riverqueue/river/riverdriver/riversqlite v0.51.2
)
