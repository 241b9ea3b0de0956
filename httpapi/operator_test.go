package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOperatorTenantActivity checks that the operator's tenant list tells
// each tenant's members, devices, assets and last activity as the tenant's
// own lists count them, on every engine × tier, and the newest schema
// version; a suspended tenant's data is not read.
func TestOperatorTenantActivity(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			total := func(p principal, path string) int {
				t.Helper()
				res := f.do(t, p, "GET", path, "")
				mustStatus(t, res, http.StatusOK, path)
				var body struct {
					Total int `json:"total"`
				}
				if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				return body.Total
			}
			type item struct {
				Slug          string     `json:"slug"`
				SchemaVersion int        `json:"schema_version"`
				Members       int        `json:"members"`
				Devices       int        `json:"devices"`
				Assets        *int       `json:"assets"`
				LastActivity  *time.Time `json:"last_activity"`
				Plan          string     `json:"plan"`
				DevicesOnline *int       `json:"devices_online"`
				Caps          []struct {
					Limit        string `json:"limit"`
					Count, Value int64
				} `json:"caps"`
				Quotas []struct {
					Quota string `json:"quota"`
					State string `json:"state"`
				} `json:"quotas"`
				Health struct {
					State   string   `json:"state"`
					Reasons []string `json:"reasons"`
				} `json:"health"`
			}
			list := func() (map[string]item, int) {
				t.Helper()
				res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants", "")
				mustStatus(t, res, http.StatusOK, "the operator's tenant list")
				var body struct {
					Tenants []item `json:"tenants"`
					Latest  int    `json:"latest_schema_version"`
				}
				if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				m := map[string]item{}
				for _, it := range body.Tenants {
					m[it.Slug] = it
				}
				return m, body.Latest
			}
			wantMembers := total(f.a.admin, "/api/v1/t/tenant-a/members")
			wantAssets := total(f.a.admin, "/api/v1/t/tenant-a/assets")
			wantDevices := total(f.operator, "/api/v1/operator/devices?tenant=tenant-a")
			got, latest := list()
			a := got["tenant-a"]
			if a.Members != wantMembers || a.Devices != wantDevices || a.Assets == nil || *a.Assets != wantAssets {
				t.Errorf("tenant-a: got members %d, devices %d, assets %v; want %d, %d, %d", a.Members, a.Devices, a.Assets, wantMembers, wantDevices, wantAssets)
			}
			if wantMembers == 0 || wantAssets == 0 || wantDevices == 0 {
				t.Errorf("the fixture's tenant-a should hold members, assets and devices: %d, %d, %d", wantMembers, wantAssets, wantDevices)
			}
			if a.LastActivity == nil || time.Since(*a.LastActivity) > time.Hour {
				t.Errorf("tenant-a: got last activity %v, want the fixture's recent changes", a.LastActivity)
			}
			if latest == 0 || a.SchemaVersion != latest {
				t.Errorf("got latest schema version %d and tenant-a at %d, want both the same and set", latest, a.SchemaVersion)
			}

			res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants/tenant-a", "")
			mustStatus(t, res, http.StatusOK, "the operator's tenant page")
			var one struct {
				item
				Latest int `json:"latest_schema_version"`
			}
			if err := json.Unmarshal(res.Body.Bytes(), &one); err != nil {
				t.Fatal(err)
			}
			if one.Members != a.Members || one.Devices != a.Devices || one.Assets == nil || *one.Assets != wantAssets || one.Latest != latest {
				t.Errorf("tenant-a's page: got %+v, want the list's counts and latest version %d", one, latest)
			}

			if a.Plan != "default" || a.DevicesOnline == nil || len(a.Quotas) != 2 || a.Health.State != "ok" {
				t.Errorf("tenant-a's monitoring: plan %q, devices online %v, quotas %+v, health %+v; want the default plan, a count, two quotas, ok",
					a.Plan, a.DevicesOnline, a.Quotas, a.Health)
			}
			// At its cap of members, tenant-a is degraded, saying why.
			mustStatus(t, f.do(t, f.operator, "PATCH", "/api/v1/operator/tenants/tenant-a/limits", fmt.Sprintf(`{"set":{"max_members":%d}}`, wantMembers)), http.StatusOK, "cap tenant-a")
			got, _ = list()
			a = got["tenant-a"]
			if a.Health.State != "degraded" || len(a.Health.Reasons) != 1 || !strings.Contains(a.Health.Reasons[0], "max_members reached") {
				t.Errorf("tenant-a at its cap of members: health %+v; want degraded, naming max_members", a.Health)
			}
			if got["tenant-b"].Health.State != "ok" {
				t.Errorf("tenant-b: health %+v, want ok", got["tenant-b"].Health)
			}

			// A tenant without devices still tells its last activity: its
			// log starts with its creation.
			mustStatus(t, f.do(t, f.operator, "POST", "/api/v1/operator/tenants", `{"slug":"no-devices","name":"No devices","tier":"`+string(be.tier)+`"}`), http.StatusCreated, "a tenant without devices")
			got, _ = list()
			if n := got["no-devices"]; n.LastActivity == nil || n.Assets == nil || n.DevicesOnline == nil {
				t.Errorf("a tenant without devices: last activity %v, assets %v, devices online %v; want each told", n.LastActivity, n.Assets, n.DevicesOnline)
			}

			mustStatus(t, f.do(t, f.operator, "POST", "/api/v1/operator/tenants/tenant-b/suspend", ""), http.StatusOK, "suspend tenant-b")
			got, _ = list()
			b := got["tenant-b"]
			if b.Assets != nil || b.LastActivity != nil || b.Members == 0 {
				t.Errorf("suspended tenant-b: got assets %v, last activity %v, members %d; want its data unread and its catalog counted", b.Assets, b.LastActivity, b.Members)
			}
			if got["tenant-a"].Assets == nil {
				t.Error("suspending tenant-b hid tenant-a's assets")
			}
		})
	}
}
