package qm_test

import (
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestAssessHealth(t *testing.T) {
	var caps qm.LimitSet
	caps.Set("max_assets", "10")
	capped := &qm.Tenant{State: qm.StateActive, SchemaVersion: 16, Limits: qm.EffectiveLimits(caps, qm.LimitSet{})}
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		name   string
		t      *qm.Tenant
		a      qm.TenantActivity
		u      qm.TenantUse
		state  string
		reason string
	}{
		{"Fine", capped, qm.TenantActivity{Assets: n(3), DevicesOnline: n(2), DevicesOffline: n(1)}, qm.TenantUse{}, qm.HealthOK, ""},
		{"AtACap", capped, qm.TenantActivity{Assets: n(10)}, qm.TenantUse{}, qm.HealthDegraded, "max_assets reached: 10 of 10"},
		{"QuotaWarning", capped, qm.TenantActivity{}, qm.TenantUse{Quotas: []qm.Quota{{Quota: qm.PointsPerMonth, Used: 85, Limit: 100, State: qm.QuotaWarning}}},
			qm.HealthDegraded, "points_per_month warning: 85 of 100"},
		{"Refusals", capped, qm.TenantActivity{}, qm.TenantUse{RefusedToday: 7}, qm.HealthDegraded, "7 points refused today"},
		{"Quiet", capped, qm.TenantActivity{DevicesOnline: n(1), DevicesOffline: n(3)}, qm.TenantUse{}, qm.HealthDegraded, "3 of 4 devices that reported are offline"},
		{"Behind", &qm.Tenant{State: qm.StateActive, SchemaVersion: 15}, qm.TenantActivity{}, qm.TenantUse{RefusedToday: 1}, qm.HealthFailing, "behind 16: run quartermaster migrate"},
		{"Newer", &qm.Tenant{State: qm.StateActive, SchemaVersion: 17}, qm.TenantActivity{}, qm.TenantUse{}, qm.HealthFailing, "newer than this build's 16"},
	} {
		h := qm.AssessHealth(c.t, c.a, c.u, 16)
		if h.State != c.state || c.reason != "" && (len(h.Reasons) == 0 || !strings.Contains(h.Reasons[0], c.reason)) {
			t.Errorf("%s: got %+v, want %s saying %q", c.name, h, c.state, c.reason)
		}
	}
}
