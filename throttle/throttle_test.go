package throttle

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testConfig has 3 free failures and delays of 1s, 2s, 4s, 8s, then 10s.
func testConfig(c *clock) Config {
	return Config{Free: 3, Base: time.Second, Max: 10 * time.Second, Forget: time.Hour, Now: c.Now, MaxKeys: 1000}
}

// MustAllow checks Allow(keys...) against the wanted result.
func MustAllow(t *testing.T, l *Limiter, wantRetry time.Duration, wantOK bool, keys ...string) {
	t.Helper()
	retry, ok := l.Allow(keys...)
	if retry != wantRetry || ok != wantOK {
		t.Fatalf("Allow(%q): got (%v, %v), want (%v, %v)", keys, retry, ok, wantRetry, wantOK)
	}
}

func TestBackoff(t *testing.T) {
	// Each step advances the clock, records failures, optionally succeeds,
	// then checks Allow for the key.
	type step struct {
		advance   time.Duration
		fails     int
		succeed   bool
		wantRetry time.Duration // zero means allowed
	}
	const key = "account:alice@example.com"
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"FreeFailuresPass", []step{
			{fails: 3},
		}},
		{"NextBlockedForBase", []step{
			{fails: 4, wantRetry: time.Second},
		}},
		{"UnblockedAfterWait", []step{
			{fails: 4, wantRetry: time.Second},
			{advance: 999 * time.Millisecond, wantRetry: time.Millisecond},
			{advance: time.Millisecond},
		}},
		{"Doubling", []step{
			{fails: 4, wantRetry: time.Second},
			{advance: time.Second, fails: 1, wantRetry: 2 * time.Second},
			{advance: 2 * time.Second, fails: 1, wantRetry: 4 * time.Second},
			{advance: 4 * time.Second, fails: 1, wantRetry: 8 * time.Second},
		}},
		{"CappedAtMax", []step{
			{fails: 4 + 100, wantRetry: 10 * time.Second},
			{advance: 10 * time.Second, fails: 1, wantRetry: 10 * time.Second},
		}},
		{"SucceedResets", []step{
			{fails: 5, wantRetry: 2 * time.Second},
			{succeed: true},
			{fails: 3},
			{fails: 1, wantRetry: time.Second},
		}},
		{"ForgetDropsIdle", []step{
			{fails: 5, wantRetry: 2 * time.Second},
			{advance: time.Hour},
			{fails: 3},
			{fails: 1, wantRetry: time.Second},
		}},
		{"KeptUntilForget", []step{
			{fails: 3},
			{advance: time.Hour - time.Nanosecond, fails: 1, wantRetry: time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := New(testConfig(c))
			for i, s := range tc.steps {
				c.Advance(s.advance)
				for range s.fails {
					l.Fail(key)
				}
				if s.succeed {
					l.Succeed(key)
				}
				retry, ok := l.Allow(key)
				if retry != s.wantRetry || ok != (s.wantRetry == 0) {
					t.Fatalf("step %d: Allow: got (%v, %v), want (%v, %v)", i, retry, ok, s.wantRetry, s.wantRetry == 0)
				}
			}
		})
	}
}

func TestAllowManyKeys(t *testing.T) {
	const account, addr = "account:alice@example.com", "addr:192.0.2.1"
	for _, tc := range []struct {
		name         string
		accountFails int
		addrFails    int
		wantRetry    time.Duration
	}{
		{"NoneBlocked", 3, 3, 0},
		{"AccountBlocked", 4, 0, time.Second},
		{"AddrBlocked", 0, 5, 2 * time.Second},
		{"LongestWait", 5, 4, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := New(testConfig(c))
			for range tc.accountFails {
				l.Fail(account)
			}
			for range tc.addrFails {
				l.Fail(addr)
			}
			MustAllow(t, l, tc.wantRetry, tc.wantRetry == 0, account, addr)
			MustAllow(t, l, tc.wantRetry, tc.wantRetry == 0, addr, account)
		})
	}
	t.Run("FailEachKey", func(t *testing.T) {
		l := New(testConfig(newClock()))
		for range 4 {
			l.Fail(account, addr)
		}
		MustAllow(t, l, time.Second, false, account)
		MustAllow(t, l, time.Second, false, addr)
		MustAllow(t, l, 0, true, "addr:198.51.100.7")
		MustAllow(t, l, 0, true)
	})
}

func TestForgetRemovesKeys(t *testing.T) {
	c := newClock()
	l := New(testConfig(c))
	l.Fail("a")
	c.Advance(30 * time.Minute)
	l.Fail("b")
	if got := l.Len(); got != 2 {
		t.Fatalf("Len: got %d, want 2", got)
	}
	c.Advance(30 * time.Minute)
	l.Allow()
	if got := l.Len(); got != 1 {
		t.Errorf("Len after an hour idle for a: got %d, want 1", got)
	}
	c.Advance(30 * time.Minute)
	l.Allow()
	if got := l.Len(); got != 0 {
		t.Errorf("Len after an hour idle for b: got %d, want 0", got)
	}
}

func TestMaxKeys(t *testing.T) {
	const maxKeys = 100
	c := newClock()
	cfg := testConfig(c)
	cfg.Free = -1 // block from the first failure, so a held key is visible
	cfg.MaxKeys = maxKeys
	l := New(cfg)
	for i := range maxKeys + 10 {
		l.Fail(fmt.Sprintf("addr:%d", i))
		c.Advance(time.Millisecond)
		if got := l.Len(); got > maxKeys {
			t.Fatalf("Len after %d keys: got %d, want at most %d", i+1, got, maxKeys)
		}
	}
	if got := l.Len(); got != maxKeys {
		t.Errorf("Len: got %d, want %d", got, maxKeys)
	}
	for _, tc := range []struct {
		name string
		key  string
		want bool // allowed
	}{
		{"OldestDropped", "addr:0", true},
		{"LastDropped", "addr:9", true},
		{"FirstKept", "addr:10", false},
		{"NewestKept", "addr:109", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := l.Allow(tc.key); ok != tc.want {
				t.Errorf("Allow(%q): got ok=%v, want %v", tc.key, ok, tc.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want Config // Now is checked for nil only
	}{
		{"Zero", Config{}, Config{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100000}},
		{"NegativeFree", Config{Free: -1}, Config{Free: 0, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100000}},
		{"ForgetRaisedToMax", Config{Max: 2 * time.Hour, Forget: time.Hour}, Config{Free: 5, Base: time.Second, Max: 2 * time.Hour, Forget: 2 * time.Hour, MaxKeys: 100000}},
		{"MaxRaisedToBase", Config{Base: time.Minute, Max: time.Second}, Config{Free: 5, Base: time.Minute, Max: time.Minute, Forget: time.Hour, MaxKeys: 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := New(tc.cfg).cfg
			if got.Now == nil {
				t.Errorf("Now: got nil, want time.Now")
			}
			got.Now = nil
			// Config holds a func, so it cannot be compared with ==.
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("config: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	c := newClock()
	cfg := testConfig(c)
	cfg.MaxKeys = 50
	l := New(cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				account := fmt.Sprintf("account:%d", (g*500+i)%80)
				addr := fmt.Sprintf("addr:%d", g)
				l.Allow(account, addr)
				switch i % 7 {
				case 0:
					l.Succeed(account)
				case 1:
					c.Advance(time.Second)
				default:
					l.Fail(account, addr)
				}
				_ = l.Len()
			}
		})
	}
	wg.Wait()
	if got := l.Len(); got > cfg.MaxKeys {
		t.Errorf("Len: got %d, want at most %d", got, cfg.MaxKeys)
	}
}

func BenchmarkFailAllow(b *testing.B) {
	l := New(Config{MaxKeys: 10000})
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("addr:%d", i)
	}
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		l.Allow(k, "account:alice@example.com")
		l.Fail(k)
		i++
	}
}
