package sqlstore

import (
	"sync"
	"time"

	"github.com/quartermaster/qm"
)

// tokenCacheTTL is how long a node trusts its copy of a token.
const tokenCacheTTL = 5 * time.Second

// tokenCache keeps recently used tokens by the hash of their secret.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]tokenEntry
}

type tokenEntry struct {
	tenantID string
	token    qm.APIToken
	expires  time.Time
}

func (c *tokenCache) get(hash string, now time.Time) (tokenEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	return e, ok && now.Before(e.expires)
}

func (c *tokenCache) put(hash string, e tokenEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) > 100000 {
		c.entries = map[string]tokenEntry{}
	}
	c.entries[hash] = e
}

// clear forgets everything: called after this node changes a token.
func (c *tokenCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}
