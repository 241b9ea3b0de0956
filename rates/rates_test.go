package rates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/tenanttest"
	"github.com/quartermaster/qm/rates"
)

// clock is a time the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	e, ok := err.(*qm.Error)
	if !ok || e.Code != qm.ERateLimited {
		t.Fatalf("got %v, want rate_limited", err)
	}
	return e.RetryAfter
}

func TestAPI(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := rates.New(c.now)
	a := tenanttest.Limited(t, "a", map[string]string{"api_requests_per_second": "2"})
	other := tenanttest.Limited(t, "b", nil)
	for i := range 2 {
		if err := b.API(a); err != nil {
			t.Fatalf("request %d of a burst of 2: %v", i+1, err)
		}
	}
	if wait := retryAfter(t, b.API(a)); wait != 500*time.Millisecond {
		t.Fatalf("the third request: retry after %v, want 500ms", wait)
	}
	for range 100 {
		if err := b.API(other); err != nil {
			t.Fatalf("a tenant without a rate: %v", err)
		}
	}
	c.t = c.t.Add(500 * time.Millisecond)
	if err := b.API(a); err != nil {
		t.Fatalf("after the wait it said: %v", err)
	}
	// A new rate takes effect at once, starting full.
	a = tenanttest.Limited(t, "a", map[string]string{"api_requests_per_second": "10", "api_burst": "5"})
	for i := range 5 {
		if err := b.API(a); err != nil {
			t.Fatalf("request %d under the new rate: %v", i+1, err)
		}
	}
	if err := b.API(a); err == nil {
		t.Fatal("the sixth request of a burst of 5 passed")
	}
}

func TestPoints(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := rates.New(c.now)
	// 100 points a second for the tenant, in bursts of 1,000 (ten seconds'
	// worth); 20 a second for each device, in bursts of 200.
	a := tenanttest.Limited(t, "a", map[string]string{"points_per_second": "100", "device_points_per_second": "20"})
	if err := b.Points(a, "d1", 200); err != nil {
		t.Fatal(err)
	}
	retryAfter(t, b.Points(a, "d1", 1))
	for _, d := range []string{"d2", "d3", "d4", "d5"} {
		if err := b.Points(a, d, 200); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
	// The tenant's bucket is empty now; d6 is refused, and what it took
	// of its own bucket is given back.
	if wait := retryAfter(t, b.Points(a, "d6", 200)); wait != 2*time.Second {
		t.Fatalf("retry after %v, want 2s (200 points at 100 a second)", wait)
	}
	c.t = c.t.Add(2 * time.Second)
	if err := b.Points(a, "d6", 200); err != nil {
		t.Fatalf("d6's own bucket kept what the tenant's refused: %v", err)
	}
	if err := b.Points(a, "d7", 2000); err == nil || !strings.Contains(err.Error(), "send fewer at a time") {
		t.Fatalf("a batch larger than any burst: %v", err)
	}
}

func TestMQTTMessage(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := rates.New(c.now)
	a := tenanttest.Limited(t, "a", map[string]string{"mqtt_messages_per_second": "0.5"})
	if err := b.MQTTMessage(a, "d1"); err != nil {
		t.Fatal(err)
	}
	if wait := retryAfter(t, b.MQTTMessage(a, "d1")); wait != 2*time.Second {
		t.Fatalf("retry after %v, want 2s", wait)
	}
	if err := b.MQTTMessage(a, "d2"); err != nil {
		t.Fatalf("another device has its own bucket: %v", err)
	}
}

// TestShare: with two nodes alive, each takes half of a tenant's rate and
// burst; a device's own rate is its node's alone.
func TestShare(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := rates.New(c.now)
	a := tenanttest.Limited(t, "a", map[string]string{"api_requests_per_second": "4", "api_burst": "4", "mqtt_messages_per_second": "1"})
	b.SetNodes(2)
	for i := range 2 {
		if err := b.API(a); err != nil {
			t.Fatalf("request %d of this node's burst of 2: %v", i+1, err)
		}
	}
	if wait := retryAfter(t, b.API(a)); wait != 500*time.Millisecond {
		t.Fatalf("retry after %v, want 500ms (this node's 2 a second)", wait)
	}
	if err := b.MQTTMessage(a, "d1"); err != nil {
		t.Fatalf("a device's own rate is not shared: %v", err)
	}
	b.SetNodes(0) // never below one
	c.t = c.t.Add(time.Second)
	for i := range 4 {
		if err := b.API(a); err != nil {
			t.Fatalf("request %d of the whole burst again: %v", i+1, err)
		}
	}
}

// TestPointsSpent: a tenant or device out of points is told so before its
// batch is decoded, and asking takes nothing.
func TestPointsSpent(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := rates.New(c.now)
	a := tenanttest.Limited(t, "a", map[string]string{"points_per_second": "1", "points_burst": "2"})
	for range 3 {
		if err := b.PointsSpent(a, "d1"); err != nil {
			t.Fatalf("asking, with points to spare: %v", err)
		}
	}
	if err := b.Points(a, "d1", 2); err != nil {
		t.Fatal(err)
	}
	if wait := retryAfter(t, b.PointsSpent(a, "d1")); wait != time.Second {
		t.Fatalf("retry after %v, want 1s", wait)
	}
	c.t = c.t.Add(time.Second)
	if err := b.PointsSpent(a, "d1"); err != nil {
		t.Fatalf("a second later: %v", err)
	}
}
