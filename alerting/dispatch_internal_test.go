package alerting

import (
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// TestPace: a tenant's notifications an hour are a bucket of an hour's
// worth; past it the next waits for its token; a changed limit takes
// effect; none means no wait.
func TestPace(t *testing.T) {
	d := NewDispatcher(DispatchConfig{})
	var set qm.LimitSet
	if err := set.Set("notifications_per_hour", "2"); err != nil {
		t.Fatal(err)
	}
	tn := &qm.Tenant{ID: "t", Limits: qm.EffectiveLimits(set, qm.LimitSet{})}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i := range 2 {
		if w := d.paceOf(tn).wait(now); w != 0 {
			t.Fatalf("notification %d of 2 waits %v", i+1, w)
		}
	}
	if w := d.paceOf(tn).wait(now); w < 29*time.Minute || w > 31*time.Minute {
		t.Fatalf("the third waits %v, want half an hour (a token every 30 minutes)", w)
	}
	// Refused, it took no token: half an hour on, one is there.
	if w := d.paceOf(tn).wait(now.Add(30 * time.Minute)); w != 0 {
		t.Fatalf("half an hour on: waits %v", w)
	}
	if err := set.Set("notifications_per_hour", "0"); err != nil {
		t.Fatal(err)
	}
	tn.Limits = qm.EffectiveLimits(set, qm.LimitSet{})
	for range 100 {
		if w := d.paceOf(tn).wait(now); w != 0 {
			t.Fatalf("unlimited: waits %v", w)
		}
	}
}
