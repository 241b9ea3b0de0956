package usage_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/tenanttest"
	"github.com/quartermaster/qm/usage"
)

// store is a usage.Store in memory, as the catalog keeps it: each node's
// totals, and each quota's state.
type store struct {
	nodes  map[string]map[usage.Key]int64
	states map[string]string // tenant/month/quota → state
	logged []string          // the changes of state, as the audit log has them
	fail   bool
}

func newStore() *store {
	return &store{nodes: map[string]map[usage.Key]int64{}, states: map[string]string{}}
}

func (s *store) Save(_ context.Context, node string, totals map[usage.Key]int64) error {
	if s.fail {
		return errors.New("the catalog is away")
	}
	if s.nodes[node] == nil {
		s.nodes[node] = map[usage.Key]int64{}
	}
	maps.Copy(s.nodes[node], totals)
	return nil
}

func (s *store) Month(_ context.Context, month string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	for _, totals := range s.nodes {
		for k, v := range totals {
			if k.Day[:7] != month {
				continue
			}
			if out[k.Tenant] == nil {
				out[k.Tenant] = map[string]int64{}
			}
			out[k.Tenant][k.Meter] += v
		}
	}
	return out, nil
}

func (s *store) QuotaState(_ context.Context, t *qm.Tenant, month string, q qm.Quota) (bool, error) {
	key := t.ID + "/" + month + "/" + string(q.Quota)
	before, ok := s.states[key]
	if !ok {
		before = qm.QuotaOK
	}
	if before == q.State {
		return false, nil
	}
	s.states[key] = q.State
	s.logged = append(s.logged, string(q.Quota)+" "+q.State)
	return true, nil
}

func TestMeter(t *testing.T) {
	day := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return day }
	st := newStore()
	a := tenanttest.Limited(t, "a", map[string]string{"points_per_month": "100"})
	b := tenanttest.Limited(t, "b", nil)
	one, two := usage.New("node-1", st, now, nil), usage.New("node-2", st, now, nil)

	one.Add(a, qm.MeterPointsStored+"/http", 30)
	one.Add(a, qm.MeterPointsStored+"/mqtt", 20)
	one.Add(b, qm.MeterAPIRequests, 7)
	two.Add(a, qm.MeterPointsStored+"/http", 15)
	ctx := context.Background()
	one.Flush(ctx)
	one.Flush(ctx) // again: nothing counts twice
	two.Flush(ctx)
	one.Flush(ctx) // one learns of two's use at its next flush
	month, _ := st.Month(ctx, "2026-11")
	if got := month["a"][qm.MeterPointsStored+"/http"]; got != 45 {
		t.Fatalf("a's HTTP points: %d, want 45 (30 on one node, 15 on the other)", got)
	}
	if got := month["b"][qm.MeterAPIRequests]; got != 7 {
		t.Fatalf("b's requests: %d, want 7", got)
	}

	// 65 of 100 used: 35 more pass, 36 do not; what this node counted
	// since its last flush counts too.
	if err := one.Allow(a, qm.PointsPerMonth, 35); err != nil {
		t.Fatalf("35 of the 35 left: %v", err)
	}
	one.Add(a, qm.MeterPointsStored+"/http", 20) // 85: past 80%
	err := one.Allow(a, qm.PointsPerMonth, 16)
	var e *qm.Error
	if !errors.As(err, &e) || e.Code != qm.ELimitReached || e.Limit.Limit != qm.PointsPerMonth || e.Limit.Count != 85 {
		t.Fatalf("16 points past 85 of 100: %v", err)
	}
	if err := one.Allow(b, qm.PointsPerMonth, 1e9); err != nil {
		t.Fatalf("b has no quota: %v", err)
	}
	one.Flush(ctx)
	one.Add(a, qm.MeterPointsStored+"/http", 15) // 100: all used
	one.Flush(ctx)
	one.Flush(ctx)
	if want := []string{"points_per_month warning", "points_per_month exceeded"}; !equal(st.logged, want) {
		t.Fatalf("changes of state: %v, want %v, each once", st.logged, want)
	}
	if err := one.Allow(a, qm.PointsPerMonth, 1); err == nil {
		t.Fatal("a point past an exceeded quota passed")
	}

	// A flush that fails keeps the counts for the quota and the next flush.
	st.fail = true
	two.Add(a, qm.MeterPointsStored+"/http", 5)
	two.Flush(ctx)
	st.fail = false
	two.Flush(ctx)
	month, _ = st.Month(ctx, "2026-11")
	if got := month["a"][qm.MeterPointsStored+"/http"]; got != 85 {
		t.Fatalf("a's HTTP points after a failed flush: %d, want 85", got)
	}

	var nothing *usage.Meter
	nothing.Add(a, qm.MeterAPIRequests, 1)
	if err := nothing.Allow(a, qm.PointsPerMonth, 1e9); err != nil {
		t.Fatalf("a nil meter holds no one to a quota: %v", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
