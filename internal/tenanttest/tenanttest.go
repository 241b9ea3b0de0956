// Package tenanttest makes tenants for tests of what a plan's limits do,
// without storage.
package tenanttest

import (
	"testing"

	"github.com/quartermaster/qm"
)

// Limited returns an active tenant with id (also its slug) working under
// limits, by key ("max_assets": "5", "features": "fleet,import").
func Limited(t testing.TB, id string, limits map[string]string) *qm.Tenant {
	t.Helper()
	var s qm.LimitSet
	for k, v := range limits {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return &qm.Tenant{ID: id, Slug: id, State: qm.StateActive, Limits: qm.EffectiveLimits(s, qm.LimitSet{})}
}
