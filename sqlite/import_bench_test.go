package sqlite_test

import (
	"testing"

	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/storetest"
)

// BenchmarkImport imports 100,000 assets into a pool tenant of a fresh data
// directory; rows/s is reported.
func BenchmarkImport(b *testing.B) {
	storetest.BenchmarkImport(b, 100000, openBench)
}

// BenchmarkGroupCommit writes one point a call from 1,000 devices at once
// through the group-commit writer, into a fresh data directory.
func BenchmarkGroupCommit(b *testing.B) {
	storetest.BenchmarkGroupCommit(b, 1000, openBench)
}

// openBench opens a fresh data directory for a benchmark.
func openBench(b *testing.B) storetest.Engine {
	db, err := sqlite.Open(sqlite.Config{DataDir: b.TempDir()})
	return storetest.MustSetUp(b, db, err)
}
