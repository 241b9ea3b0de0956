package catalog

import (
	"sync"
	"time"

	"github.com/quartermaster/qm"
)

// tenantCacheTTL is how long a node trusts its copy of a catalog row. Every
// request looks its tenant up; changes made on this node are seen at once,
// changes made on another node as soon as WatchChanges reads them, and
// within this time if it misses them.
const tenantCacheTTL = qm.TenantCacheTTL

// tenantCache keeps recently read tenants, by "id:" and "slug:" keys.
type tenantCache struct {
	mu      sync.Mutex
	entries map[string]cachedTenant
	ttl     time.Duration // tenantCacheTTL when zero
	// gen counts the clears: a row read before a clear is not put after
	// it, or a read that raced a change would keep the row as it was.
	gen uint64
}

type cachedTenant struct {
	t       qm.Tenant
	expires time.Time
}

// get returns a copy of the cached tenant under key, if fresh; else the
// generation to put what the caller reads instead with.
func (c *tenantCache) get(key string, now time.Time) (*qm.Tenant, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.After(e.expires) {
		return nil, c.gen, false
	}
	t := e.t
	return &t, c.gen, true
}

// put caches t under both its keys, unless the cache was cleared since
// gen (get's) was read.
func (c *tenantCache) put(t *qm.Tenant, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil || len(c.entries) > 100000 {
		c.entries = map[string]cachedTenant{}
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = tenantCacheTTL
	}
	e := cachedTenant{t: *t, expires: now.Add(ttl)}
	c.entries["id:"+t.ID] = e
	c.entries["slug:"+t.Slug] = e
}

// setTTL sets how long entries put from now on are kept.
func (c *tenantCache) setTTL(ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ttl = ttl
}

// clear forgets everything: called after this node changes the catalog.
func (c *tenantCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
	c.gen++
}
