package catalog

import (
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// TestCredentialCacheForgets checks that expired credentials leave the
// cache as others are added, not only when it is full: a device that
// connects once and stays connected must not cost memory for ever.
func TestCredentialCacheForgets(t *testing.T) {
	var c credentialCache[int]
	start := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, i, start, 0)
	}
	later := start.Add(credentialTTL)
	c.put("d", 3, later, 0)
	if _, _, ok := c.get("d", later); !ok || len(c.entries) != 1 {
		t.Fatalf("got %d entries after the others expired, want 1 (d)", len(c.entries))
	}
	c.put("e", 4, later.Add(time.Second), 0)
	if len(c.entries) != 2 {
		t.Fatalf("got %d entries, want 2: none had expired", len(c.entries))
	}
}

// TestCachesKeepNothingReadBeforeAClear: a credential or tenant read
// before the cache is cleared (a change made meanwhile) is not kept
// after it, so the change is not undone until the TTL ends.
func TestCachesKeepNothingReadBeforeAClear(t *testing.T) {
	now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	var creds credentialCache[int]
	_, gen, _ := creds.get("a", now)
	creds.clear()
	creds.put("a", 1, now, gen)
	if _, _, ok := creds.get("a", now); ok {
		t.Fatal("a credential read before a clear was kept after it")
	}
	_, gen, _ = creds.get("a", now)
	creds.put("a", 1, now, gen)
	if v, _, ok := creds.get("a", now); !ok || v != 1 {
		t.Fatalf("a credential read after the clear: %v, %v; want it kept", v, ok)
	}

	var tenants tenantCache
	_, tgen, _ := tenants.get("id:x", now)
	tenants.clear()
	tenants.put(&qm.Tenant{ID: "x", Slug: "x"}, now, tgen)
	if _, _, ok := tenants.get("id:x", now); ok {
		t.Fatal("a tenant read before a clear was kept after it")
	}
}
