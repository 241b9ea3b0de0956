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
}

type cached[V any] struct {
	v       V
	expires time.Time
}

func (c *credentialCache[V]) get(hash string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *credentialCache[V]) put(hash string, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
}
