package sqlite_test

import (
	"testing"

	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/storetest"
)

// BenchmarkImport imports 100,000 assets into a pool tenant of a fresh data
// directory; rows/s is reported.
func BenchmarkImport(b *testing.B) {
	storetest.BenchmarkImport(b, 100000, func(b *testing.B) storetest.Engine {
		db, err := sqlite.Open(sqlite.Config{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Setup(b.Context()); err != nil {
			b.Fatal(err)
		}
		return db
	})
}
