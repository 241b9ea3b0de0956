package sqlstore

import (
	"testing"
	"time"
)

// TestFirstID: an id made before a time sorts before FirstID of it, and
// FirstID is itself a valid id, with the time's milliseconds first.
func TestFirstID(t *testing.T) {
	before := NewID()
	// The next millisecond, so before's is earlier.
	at := time.Now().Add(time.Millisecond)
	first := FirstID(at)
	// Ids are made before at until the clock reaches it.
	after := NewID()
	for after < first {
		after = NewID()
	}
	if !ValidID(first) {
		t.Fatalf("FirstID = %q, not a valid id", first)
	}
	if before >= first || after < first {
		t.Fatalf("before %s, first %s, after %s: want before < first <= after", before, first, after)
	}
	if got := FirstID(time.UnixMilli(0x0123456789ab)); got != "01234567-89ab-7000-8000-000000000000" {
		t.Fatalf("FirstID of 0x0123456789ab ms = %s", got)
	}
}
