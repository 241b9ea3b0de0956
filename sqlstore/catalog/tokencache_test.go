package catalog

import (
	"testing"
	"time"
)

// TestCredentialCacheForgets checks that expired credentials leave the
// cache as others are added, not only when it is full: a device that
// connects once and stays connected must not cost memory for ever.
func TestCredentialCacheForgets(t *testing.T) {
	var c credentialCache[int]
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, i, start)
	}
	later := start.Add(credentialTTL)
	c.put("d", 3, later)
	if _, ok := c.get("d", later); !ok || len(c.entries) != 1 {
		t.Fatalf("got %d entries after the others expired, want 1 (d)", len(c.entries))
	}
	c.put("e", 4, later.Add(time.Second))
	if len(c.entries) != 2 {
		t.Fatalf("got %d entries, want 2: none had expired", len(c.entries))
	}
}
