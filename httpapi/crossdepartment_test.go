package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// TestCrossDepartment: a member confined to a department can neither read,
// change, nor learn of anything outside its department's subtree, by any
// tenant route. It is made from the route table and the cross-tenant
// suite's cases, so a new route is covered as soon as it has its case.
//
// The confined member is an admin (so no permission hides what the scope
// should) of a department of its own; everything the fixture made is
// outside it. Every tenant route is called as that member, as the case
// calls it for the admin; then
//   - no answer names what lies outside (the fixture's asset, its device,
//     its maintenance record), though the unconfined admin's answers do;
//   - nothing outside changed, whatever the answer.
func TestCrossDepartment(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			a := f.a
			confined, inside := f.confinedAdmin(t, a)
			outside := outsideMarkers(a)
			seen := map[string]bool{} // routes whose answer to the admin names what lies outside
			for _, rt := range httpapi.Routes {
				c, ok := cases[key(rt)]
				if rt.Access != httpapi.Tenant || !ok || c.stream {
					continue
				}
				t.Run(key(rt), func(t *testing.T) {
					if rt.Method == "GET" {
						if res := f.doType(t, a.admin, rt.Method, c.path(a), body(c, a), c.ctype); res.Code == c.ok && outside.in(res.Body.String()) != "" {
							seen[key(rt)] = true
						}
					}
					before := f.outsideSnapshot(t, a, inside)
					res := f.doType(t, confined, rt.Method, c.path(a), body(c, a), c.ctype)
					if res.Code >= 500 {
						t.Errorf("%s %s as the confined admin: got %d %s", rt.Method, c.path(a), res.Code, res.Body)
					}
					if m := outside.in(res.Body.String()); m != "" {
						t.Errorf("%s %s as the confined admin: got %d naming %s outside its department: %s", rt.Method, c.path(a), res.Code, m, res.Body)
					}
					if f.outsideSnapshot(t, a, inside) != before {
						t.Fatalf("%s %s as the confined admin (got %d %s) changed data outside its department", rt.Method, c.path(a), res.Code, res.Body)
					}
				})
			}
			t.Run("SharedIsReadOnly", func(t *testing.T) {
				// An unconfined token or invitation would let the member out
				// of its department; a shared list's change reaches every
				// department.
				for _, req := range [][3]string{
					{"POST", "/tokens", `{"name":"escape","role":"admin"}`},
					{"POST", "/members", `{"email":"friend@example.com","role":"admin"}`},
					{"GET", "/audit", ""},
					{"POST", "/locations", `{"name":"Annex"}`},
					{"DELETE", "/fields/" + a.field.ID, ""},
					{"PUT", "/settings/fleet", `{"retention_days":1,"offline_minutes":1,"low_battery_pct":1}`},
				} {
					if res := f.do(t, confined, req[0], tenantPath(req[1])(a), req[2]); res.Code != http.StatusForbidden {
						t.Errorf("%s %s as the confined admin: got %d %s, want 403", req[0], req[1], res.Code, res.Body)
					}
				}
				res := f.do(t, confined, "GET", tenantPath("")(a), "")
				var home struct {
					Principal qm.Principal `json:"principal"`
				}
				if err := json.Unmarshal(res.Body.Bytes(), &home); err != nil || !slices.Equal(home.Principal.Role.Permissions, qm.DepartmentPermissions) {
					t.Errorf("the confined admin holds %v (%v), want %v", home.Principal.Role.Permissions, err, qm.DepartmentPermissions)
				}
			})
			t.Run("BodiesNameWhatLiesOutside", func(t *testing.T) {
				res := f.do(t, confined, "POST", tenantPath("/assets")(a), `{"model_id":"`+a.model.ID+`"}`)
				mustStatus(t, res, http.StatusCreated, "the confined admin's own asset")
				mine := between(res.Body.String(), `"id":"`, `"`)
				dev, _ := f.mustDevice(t, a.t)
				mustStatus(t, f.do(t, a.admin, "PATCH", tenantPath("/devices/"+dev.Ident)(a), `{"department_id":"`+inside.ID+`"}`), http.StatusOK, "place a device in the department")
				before := f.outsideSnapshot(t, a, inside)
				for _, req := range []struct {
					method, path, body string
					status             int
				}{
					{"POST", "/assets/" + mine + "/checkout", `{"holder_type":"asset","holder_id":"` + a.asset.ID + `"}`, http.StatusUnprocessableEntity},
					{"PATCH", "/assets/" + mine, `{"department_id":"` + a.department.ID + `"}`, http.StatusUnprocessableEntity},
					{"POST", "/licenses/" + a.license.ID + "/seats", `{"assignee_type":"asset","assignee_id":"` + a.asset.ID + `"}`, http.StatusUnprocessableEntity},
					{"DELETE", "/licenses/" + a.license.ID + "/seats/" + a.seat.ID, "", http.StatusNotFound},
					{"PATCH", "/devices/" + dev.Ident, `{"asset_id":"` + a.asset.ID + `"}`, http.StatusUnprocessableEntity},
					{"PATCH", "/devices/" + dev.Ident, `{"department_id":"` + a.department.ID + `"}`, http.StatusUnprocessableEntity},
					{"GET", "/assets/labels?ids=" + mine + "," + a.asset.ID, "", http.StatusNotFound},
					{"GET", "/assets?holder_type=asset&holder_id=" + a.asset.ID, "", http.StatusOK},
				} {
					res := f.do(t, confined, req.method, tenantPath(req.path)(a), req.body)
					if res.Code != req.status || outside.in(res.Body.String()) != "" {
						t.Errorf("%s %s %s as the confined admin: got %d %s, want %d naming nothing outside", req.method, req.path, req.body, res.Code, res.Body, req.status)
					}
				}
				if f.outsideSnapshot(t, a, inside) != before {
					t.Fatal("a refused request changed data outside the department")
				}
			})
			// Without this, a suite whose fixture lay inside the department
			// would pass with nothing tested.
			for _, k := range []string{
				"GET /api/v1/t/{tenant}/assets", "GET /api/v1/t/{tenant}/assets/{id}", "GET /api/v1/t/{tenant}/assets/export",
				"GET /api/v1/t/{tenant}/devices", "GET /api/v1/t/{tenant}/devices/{device}", "GET /api/v1/t/{tenant}/licenses/{id}/seats",
				"GET /api/v1/t/{tenant}/audit",
			} {
				if !seen[k] {
					t.Errorf("%s does not name the fixture's asset or device to the unconfined admin: the suite tests too little", k)
				}
			}
		})
	}
}

// markers are strings whose presence in an answer names something.
type markers map[string]string // the string → what it names

// in returns what the first marker found in s names, or "".
func (m markers) in(s string) string {
	for str, what := range m {
		if strings.Contains(s, str) {
			return what
		}
	}
	return ""
}

// outsideMarkers name the fixture's department-bound data: its asset (by
// id and serial; its tag is a prefix of others'), its device, the asset's
// maintenance record, and its rule (of the whole tenant) and that rule's
// alarm.
func outsideMarkers(tf *tenantFixture) markers {
	return markers{
		tf.asset.ID: "the asset", tf.asset.Serial: "the asset's serial",
		tf.device.Ident: "the device", tf.device.ID: "the device", tf.maintenance.ID: "the maintenance record",
		tf.rule.ID: "the rule", tf.alarm.ID: "the alarm", tf.event.ID: "the alarm's event",
	}
}

// confinedAdmin makes a department of tf and an admin confined to it, and
// signs them in; it returns them and the department.
func (f *fixture) confinedAdmin(t *testing.T, tf *tenantFixture) (principal, *qm.Department) {
	t.Helper()
	d := &qm.Department{Name: "Confined"}
	if err := dataplane.NewDepartmentStore(f.e, time.Now).CreateDepartment(tf.ctx, d); err != nil {
		t.Fatal(err)
	}
	email := fmt.Sprintf("confined%d@%s.example", nextSlug(), tf.t.Slug)
	u := f.mustUser(t, email, false)
	if err := f.e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: tf.t.ID, UserID: u.ID, Role: "admin", DepartmentID: d.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return f.login(t, email), d
}

// outsideSnapshot is what tf holds outside department d, as the system sees
// it: the assets, devices and rules of other departments (or none), with
// what hangs off them.
func (f *fixture) outsideSnapshot(t *testing.T, tf *tenantFixture, d *qm.Department) string {
	t.Helper()
	page, err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).Assets(tf.ctx, qm.AssetFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var assets []*qm.Asset
	for _, x := range page.Assets {
		if x.DepartmentID != d.ID {
			assets = append(assets, x)
		}
	}
	fleet, err := telemetry.NewFleetStore(f.e, f.e.Devices(), time.Now).Devices(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var devices []any
	for _, x := range fleet {
		if x.DepartmentID != d.ID {
			devices = append(devices, x)
		}
	}
	maint, err := dataplane.NewMaintenanceStore(f.e, time.Now).Maintenances(tf.ctx, tf.asset.ID)
	if err != nil && qm.ErrorCode(err) != qm.ENotFound {
		t.Fatal(err)
	}
	seats, err := dataplane.NewLicenseStore(f.e, f.e.Identity(), time.Now).Seats(tf.ctx, tf.license.ID)
	if err != nil && qm.ErrorCode(err) != qm.ENotFound {
		t.Fatal(err)
	}
	seats = slices.DeleteFunc(seats, func(st *qm.Seat) bool { return st.AssigneeType != qm.HolderAsset })
	rules, err := f.rules().Rules(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	rules = slices.DeleteFunc(rules, func(r *qm.Rule) bool { return r.DepartmentID == d.ID })
	alarms, err := alerts.NewAlarmStore(f.e, time.Now).Alarms(tf.ctx, qm.AlarmFilter{Limit: qm.MaxAlarmList})
	if err != nil {
		t.Fatal(err)
	}
	alarms = slices.DeleteFunc(alarms, func(a *qm.Alarm) bool { return a.DepartmentID == d.ID })
	b, _ := json.Marshal([]any{assets, devices, maint, seats, rules, alarms})
	return string(b)
}
