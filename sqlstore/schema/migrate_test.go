package schema_test

import (
	"testing"
	"testing/fstest"

	"github.com/quartermaster/qm/sqlstore/schema"
)

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	t.Run("OK", func(t *testing.T) {
		ms, err := schema.LoadMigrations(fstest.MapFS{
			"m/0002_b.sql": file("B"), "m/0001_a.sql": file("A"), "m/README": file("not sql"),
		}, "m")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].Name != "0001_a" || ms[0].SQL != "A" || ms[1].Version != 2 || schema.Latest(ms) != 2 {
			t.Fatalf("got %+v", ms)
		}
		more := schema.Append(ms, "c", "C")
		if len(ms) != 2 || schema.Latest(more) != 3 || more[2].SQL != "C" {
			t.Fatalf("Append: got %+v, original %d long", more, len(ms))
		}
	})
	for name, fs := range map[string]fstest.MapFS{
		"ErrGap":       {"m/0001_a.sql": file("A"), "m/0003_c.sql": file("C")},
		"ErrDuplicate": {"m/0001_a.sql": file("A"), "m/1_b.sql": file("B")},
		"ErrName":      {"m/first.sql": file("A")},
		"ErrZero":      {"m/0000_a.sql": file("A")},
		"ErrNoDir":     {},
	} {
		t.Run(name, func(t *testing.T) {
			if ms, err := schema.LoadMigrations(fs, "m"); err == nil {
				t.Fatalf("got %+v, want an error", ms)
			}
		})
	}
}
