// Package throttle slows down password guessing. It counts login failures
// per key (the caller picks keys such as "account:alice@example.com" and
// "addr:192.0.2.1") and, once a key has used its free failures, blocks it for
// a delay that doubles with each further failure.
package throttle

import (
	"container/list"
	"sync"
	"time"
)

// Config sets the limits of a Limiter. Zero fields take the defaults named
// on each field.
type Config struct {
	// Free is the number of failures allowed before any delay (default 5).
	// A negative value means none are free.
	Free int
	// Base is the delay after the first failure past Free (default 1s);
	// each later failure doubles it, up to Max (default 15m).
	Base, Max time.Duration
	// Forget is how long a key must go without a failure before it is
	// dropped and starts afresh (default 1h). It is raised to Max if lower,
	// so a key is never forgotten while it is still blocked.
	Forget time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// MaxKeys bounds the number of keys held (default 100000). Past it, the
	// keys whose last failure is oldest are dropped first, which means a
	// flood of fresh keys can clear an older key's count: pick MaxKeys well
	// above the number of keys expected to fail within Forget.
	MaxKeys int
}

// Defaults for zero Config fields.
const (
	DefaultFree    = 5
	DefaultBase    = time.Second
	DefaultMax     = 15 * time.Minute
	DefaultForget  = time.Hour
	DefaultMaxKeys = 100000
)

// Limiter tracks failures per key. It is safe for concurrent use.
type Limiter struct {
	cfg Config

	mu    sync.Mutex
	keys  map[string]*list.Element // of *entry
	order *list.List               // of *entry, oldest last failure first
}

// entry is the state of one key.
type entry struct {
	key      string
	failures int
	last     time.Time // time of the latest failure
	until    time.Time // blocked until this time; zero when not blocked
}

// New returns a Limiter with cfg, its zero fields set to the defaults.
func New(cfg Config) *Limiter {
	switch {
	case cfg.Free == 0:
		cfg.Free = DefaultFree
	case cfg.Free < 0:
		cfg.Free = 0
	}
	if cfg.Base <= 0 {
		cfg.Base = DefaultBase
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Max < cfg.Base {
		cfg.Max = cfg.Base
	}
	if cfg.Forget <= 0 {
		cfg.Forget = DefaultForget
	}
	if cfg.Forget < cfg.Max {
		cfg.Forget = cfg.Max
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	return &Limiter{cfg: cfg, keys: make(map[string]*list.Element), order: list.New()}
}

// Allow reports whether an attempt may go ahead for all of keys. When any
// key is blocked, ok is false and retryAfter is the longest remaining wait
// among them; otherwise retryAfter is zero. Call it before checking the
// password, and refuse the attempt without checking when ok is false.
func (l *Limiter) Allow(keys ...string) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	l.forget(now)
	for _, k := range keys {
		el, found := l.keys[k]
		if !found {
			continue
		}
		if wait := el.Value.(*entry).until.Sub(now); wait > retryAfter {
			retryAfter = wait
		}
	}
	return retryAfter, retryAfter <= 0
}

// Fail records one failed attempt for each of keys. Past the free failures,
// each key is blocked for Base, doubled for every further failure and capped
// at Max, counted from now.
func (l *Limiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	l.forget(now)
	for _, k := range keys {
		var e *entry
		if el, found := l.keys[k]; found {
			e = el.Value.(*entry)
			l.order.MoveToBack(el)
		} else {
			for l.order.Len() >= l.cfg.MaxKeys {
				l.remove(l.order.Front())
			}
			e = &entry{key: k}
			l.keys[k] = l.order.PushBack(e)
		}
		e.failures++
		e.last = now
		if over := e.failures - l.cfg.Free; over > 0 {
			e.until = now.Add(l.delay(over))
		}
	}
}

// Succeed forgets keys, so their next failure is counted from zero.
// Resetting an address key on any success lets a client that owns one
// account clear its address's count between guesses at others; callers may
// prefer to reset only the account key.
func (l *Limiter) Succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if el, found := l.keys[k]; found {
			l.remove(el)
		}
	}
}

// Len returns the number of keys held, including idle keys not yet
// forgotten.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// delay returns the block for the over-th failure past Free (over >= 1).
func (l *Limiter) delay(over int) time.Duration {
	d := l.cfg.Base
	for i := 1; i < over; i++ {
		if d > l.cfg.Max/2 {
			// Doubling would pass Max, or overflow.
			return l.cfg.Max
		}
		d *= 2
	}
	return min(d, l.cfg.Max)
}

// forget drops keys with no failure for Forget. Keys are ordered by last
// failure, so it stops at the first key still fresh. Because Forget >= Max,
// a dropped key is never still blocked.
func (l *Limiter) forget(now time.Time) {
	for el := l.order.Front(); el != nil; el = l.order.Front() {
		if now.Sub(el.Value.(*entry).last) < l.cfg.Forget {
			return
		}
		l.remove(el)
	}
}

// remove drops el from both the list and the map.
func (l *Limiter) remove(el *list.Element) {
	delete(l.keys, el.Value.(*entry).key)
	l.order.Remove(el)
}
