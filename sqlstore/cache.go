package sqlstore

import (
	"container/list"
	"io"
	"sync"
	"time"
)

// Cache keeps a bounded number of per-tenant databases open (silo files,
// silo connection pools), so thousands of silo tenants do not hold thousands
// of open files or connections. Entries in use are never closed; an entry
// is closed when it is the least recently used beyond the bound, or has been
// idle longer than the idle time.
type Cache[V io.Closer] struct {
	open func(key string) (V, error)
	max  int
	idle time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element
	lru     list.List // front: most recently used
}

type cacheEntry[V io.Closer] struct {
	key      string
	val      V
	refs     int
	lastUsed time.Time
}

// NewCache returns a cache that opens values with open, keeps at most max
// idle ones open, and closes any idle for longer than idle on Sweep.
func NewCache[V io.Closer](max int, idle time.Duration, now func() time.Time, open func(key string) (V, error)) *Cache[V] {
	return &Cache[V]{open: open, max: max, idle: idle, now: now, entries: map[string]*list.Element{}}
}

// Acquire returns the value for key, opening it if needed. The caller must
// call release when done with it.
func (c *Cache[V]) Acquire(key string) (v V, release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		val, err := c.open(key)
		if err != nil {
			return v, nil, err
		}
		el = c.lru.PushFront(&cacheEntry[V]{key: key, val: val})
		c.entries[key] = el
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry[V])
	e.refs++
	c.evictLocked(func(*cacheEntry[V]) bool { return c.lru.Len() > c.max })
	var once sync.Once
	return e.val, func() {
		once.Do(func() {
			c.mu.Lock()
			e.refs--
			e.lastUsed = c.now()
			c.mu.Unlock()
		})
	}, nil
}

// Sweep closes entries idle for longer than the idle time.
func (c *Cache[V]) Sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	cutoff := c.now().Add(-c.idle)
	c.evictLocked(func(e *cacheEntry[V]) bool { return e.lastUsed.Before(cutoff) })
}

// SweepEvery sweeps every interval in a goroutine of its own until stop is
// called; stop waits for the goroutine to end.
func (c *Cache[V]) SweepEvery(interval time.Duration) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				c.Sweep()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-ended }) }
}

// Remove closes and forgets key's entry, waiting for no one: callers remove
// an entry only when its storage is going away.
func (c *Cache[V]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.Remove(el)
		delete(c.entries, key)
		el.Value.(*cacheEntry[V]).val.Close()
	}
}

// Len returns the number of open entries.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Close closes every entry.
func (c *Cache[V]) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for key, el := range c.entries {
		if err := el.Value.(*cacheEntry[V]).val.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.entries, key)
	}
	c.lru.Init()
	return first
}

// evictLocked walks from the least recently used end and closes unused
// entries while more(entry) holds. It stops at the first entry for which
// more is false; entries in use are skipped.
func (c *Cache[V]) evictLocked(more func(*cacheEntry[V]) bool) {
	for el := c.lru.Back(); el != nil; {
		e := el.Value.(*cacheEntry[V])
		prev := el.Prev()
		if !more(e) {
			return
		}
		if e.refs == 0 {
			c.lru.Remove(el)
			delete(c.entries, e.key)
			e.val.Close()
		}
		el = prev
	}
}
