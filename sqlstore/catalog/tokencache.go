package catalog

import (
	"sync"
	"time"
)

// credentialTTL is how long a node trusts its copy of a credential (an API
// token or a device's) when WatchChanges misses a change of it.
const credentialTTL = 5 * time.Second

// credentialCache keeps recently used credentials by the hash of their
// secret, so the request path does not ask the catalog every time.
type credentialCache[V any] struct {
	mu      sync.Mutex
	entries map[string]cached[V]
	// swept is when expired entries were last removed. Without it a
	// credential used once (a device that connected and stays connected)
	// would be kept until the cache is full.
	swept time.Time
	ttl   time.Duration // credentialTTL when zero
	// gen counts the clears, as tenantCache's does.
	gen uint64
}

type cached[V any] struct {
	v       V
	expires time.Time
}

// get returns the credential cached under hash, if fresh; else the
// generation to put what the caller reads instead with.
func (c *credentialCache[V]) get(hash string, now time.Time) (V, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, c.gen, false
	}
	return e.v, c.gen, true
}

// put caches v under hash, unless the cache was cleared since gen (get's)
// was read: what was read before a change is not kept after it.
func (c *credentialCache[V]) put(hash string, v V, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) > 100000 {
		c.entries = map[string]cached[V]{}
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = credentialTTL
	}
	if now.Sub(c.swept) >= ttl {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		c.swept = now
	}
	c.entries[hash] = cached[V]{v: v, expires: now.Add(ttl)}
}

// setTTL sets how long entries put from now on are kept.
func (c *credentialCache[V]) setTTL(ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ttl = ttl
}

// clear forgets everything: called after this node changes a credential.
func (c *credentialCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
	c.gen++
}
