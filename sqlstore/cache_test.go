package sqlstore_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm/sqlstore"
)

// closer records whether it was closed.
type closer struct {
	mu     sync.Mutex
	closed bool
}

func (c *closer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *closer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func newCache(max int, now *time.Time) (*sqlstore.Cache[*closer], map[string]*closer) {
	opened := map[string]*closer{}
	return sqlstore.NewCache(max, time.Minute, func() time.Time { return *now }, func(key string) (*closer, error) {
		if key == "bad" {
			return nil, errors.New("cannot open")
		}
		c := &closer{}
		opened[key] = c
		return c, nil
	}), opened
}

func TestCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("Bound", func(t *testing.T) {
		c, opened := newCache(2, &now)
		for _, k := range []string{"a", "b", "c"} {
			_, release, err := c.Acquire(k)
			if err != nil {
				t.Fatal(err)
			}
			release()
		}
		if c.Len() != 2 || !opened["a"].isClosed() || opened["b"].isClosed() || opened["c"].isClosed() {
			t.Fatalf("got %d open, a closed %v; want 2 open, the least recently used closed", c.Len(), opened["a"].isClosed())
		}
	})
	t.Run("InUseNeverClosed", func(t *testing.T) {
		c, opened := newCache(1, &now)
		va, releaseA, _ := c.Acquire("a")
		_, releaseB, _ := c.Acquire("b")
		if va.isClosed() || c.Len() != 2 {
			t.Fatalf("an entry in use was closed (open: %d)", c.Len())
		}
		releaseA()
		releaseA() // a second release is harmless
		_, releaseC, _ := c.Acquire("c")
		if !opened["a"].isClosed() || opened["b"].isClosed() {
			t.Fatal("want a (released) closed and b (in use) open")
		}
		releaseB()
		releaseC()
	})
	t.Run("SameValueWhileOpen", func(t *testing.T) {
		c, _ := newCache(4, &now)
		v1, r1, _ := c.Acquire("a")
		v2, r2, _ := c.Acquire("a")
		if v1 != v2 {
			t.Fatal("two values for one key")
		}
		r1()
		r2()
	})
	t.Run("SweepIdle", func(t *testing.T) {
		c, opened := newCache(4, &now)
		_, release, _ := c.Acquire("a")
		release()
		_, keep, _ := c.Acquire("b")
		now = now.Add(2 * time.Minute)
		c.Sweep()
		if !opened["a"].isClosed() || opened["b"].isClosed() || c.Len() != 1 {
			t.Fatalf("after sweep: a closed %v, b closed %v, %d open", opened["a"].isClosed(), opened["b"].isClosed(), c.Len())
		}
		keep()
	})
	t.Run("ErrOpen", func(t *testing.T) {
		c, _ := newCache(4, &now)
		if _, _, err := c.Acquire("bad"); err == nil || c.Len() != 0 {
			t.Fatalf("got %v with %d open", err, c.Len())
		}
	})
	t.Run("RemoveAndClose", func(t *testing.T) {
		c, opened := newCache(4, &now)
		for _, k := range []string{"a", "b"} {
			_, release, _ := c.Acquire(k)
			release()
		}
		c.Remove("a")
		if !opened["a"].isClosed() || c.Len() != 1 {
			t.Fatal("Remove did not close a")
		}
		c.Close()
		if !opened["b"].isClosed() || c.Len() != 0 {
			t.Fatal("Close did not close b")
		}
	})
}
