package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/metrics"
)

// TestLimitsAtTheEdges: the operator limits a tenant through the API, and
// every edge refuses past the limit with the code and the limit named, on
// every engine × tier: the API's caps and features, the importer, API
// tokens, and device telemetry by HTTP and OsmAnd.
func TestLimitsAtTheEdges(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			a, b := f.a, f.b
			limits := "/api/v1/operator/tenants/" + a.t.Slug + "/limits"
			set := func(body string) {
				t.Helper()
				mustStatus(t, f.do(t, f.operator, "PATCH", limits, body), http.StatusOK, "limit "+body)
			}
			refused := func(res interface {
				Result() *http.Response
			}, status int, code string, what string) map[string]any {
				t.Helper()
				var body struct {
					Error struct {
						Code  string         `json:"code"`
						Limit map[string]any `json:"limit"`
					} `json:"error"`
				}
				r := res.Result()
				json.NewDecoder(r.Body).Decode(&body)
				if r.StatusCode != status || body.Error.Code != code {
					t.Fatalf("%s: got %d %q, want %d %s", what, r.StatusCode, body.Error.Code, status, code)
				}
				return body.Error.Limit
			}
			// point is a batch of one point at sec, in Unix seconds.
			point := func(sec int64) string {
				return fmt.Sprintf(`[{"time":"%s","lat":1,"lon":2}]`, time.Unix(sec, 0).UTC().Format(time.RFC3339))
			}
			page := f.do(t, a.admin, "GET", tenantPath("/assets")(a), "")
			var list struct{ Total int }
			json.Unmarshal(page.Body.Bytes(), &list)

			t.Run("Caps", func(t *testing.T) {
				set(fmt.Sprintf(`{"set":{"max_assets":%d}}`, list.Total+1))
				mustStatus(t, f.do(t, a.admin, "POST", tenantPath("/assets")(a), `{"model_id":"`+a.model.ID+`"}`), http.StatusCreated, "the last asset the cap allows")
				lim := refused(f.do(t, a.admin, "POST", tenantPath("/assets")(a), `{"model_id":"`+a.model.ID+`"}`), http.StatusForbidden, qm.ELimitReached, "one asset past the cap")
				if lim["limit"] != "max_assets" || lim["value"] != float64(list.Total+1) || lim["count"] != float64(list.Total+1) {
					t.Fatalf("the refusal names %v", lim)
				}
				res := f.doType(t, a.admin, "POST", tenantPath("/assets/import")(a), "Asset Tag,Model Name,Category\nCAP-1,Dock,Docks\n", "text/csv")
				if lim := refused(res, http.StatusForbidden, qm.ELimitReached, "an import past the cap"); lim["limit"] != "max_assets" {
					t.Fatalf("the import's refusal names %v", lim)
				}
				// B is on no plan.
				mustStatus(t, f.do(t, b.admin, "POST", tenantPath("/assets")(b), `{"model_id":"`+b.model.ID+`"}`), http.StatusCreated, "B's asset")
				// Raised, it takes effect at once on this node.
				set(`{"unset":["max_assets"]}`)
				mustStatus(t, f.do(t, a.admin, "POST", tenantPath("/assets")(a), `{"model_id":"`+a.model.ID+`"}`), http.StatusCreated, "an asset after the cap is lifted")
			})
			t.Run("EveryCap", func(t *testing.T) {
				// The fixture's tenant holds at least one of each; a cap of
				// one leaves no room, whichever path creates.
				loose, _ := f.mustDevice(t, nil)
				for _, c := range []struct {
					limit        string
					who          principal
					method, path string
					body         string
				}{
					{"max_locations", a.admin, "POST", tenantPath("/locations")(a), `{"name":"One too many"}`},
					{"max_custom_fields", a.admin, "POST", tenantPath("/fields")(a), `{"name":"One too many","type":"text"}`},
					{"max_api_tokens", a.admin, "POST", tenantPath("/tokens")(a), `{"name":"one too many","role":"viewer"}`},
					{"max_members", a.admin, "POST", tenantPath("/members")(a), `{"email":"one-too-many@example.com","role":"viewer"}`},
					{"max_devices", f.operator, "POST", "/api/v1/operator/devices/" + loose.Ident + "/assign", `{"tenant":"` + a.t.Slug + `"}`},
				} {
					set(`{"set":{"` + c.limit + `":1}}`)
					if lim := refused(f.do(t, c.who, c.method, c.path, c.body), http.StatusForbidden, qm.ELimitReached, c.method+" "+c.path); lim["limit"] != c.limit {
						t.Errorf("%s %s: the refusal names %v, want %s", c.method, c.path, lim, c.limit)
					}
					set(`{"unset":["` + c.limit + `"]}`)
				}
			})
			t.Run("Rates", func(t *testing.T) {
				// Rates so slow that no second request comes in time:
				// which requests pass does not depend on the clock.
				set(`{"set":{"api_requests_per_second":0.001,"api_burst":2,"points_per_second":0.001,"points_burst":1}}`)
				defer set(`{"unset":["api_requests_per_second","api_burst","points_per_second","points_burst"]}`)
				for range 2 {
					mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/locations")(a), ""), http.StatusOK, "a request of the burst")
				}
				res := f.do(t, a.admin, "GET", tenantPath("/locations")(a), "")
				refused(res, http.StatusTooManyRequests, qm.ERateLimited, "a request past the burst")
				if ra := res.Header().Get("Retry-After"); ra == "" || ra == "0" {
					t.Errorf("Retry-After is %q, want the seconds to wait", ra)
				}
				mustStatus(t, f.do(t, b.admin, "GET", tenantPath("/locations")(b), ""), http.StatusOK, "B, beside A past its rate")
				at := time.Now().Unix()
				mustStatus(t, f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at)), http.StatusOK, "the first point")
				res = f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at+1))
				refused(res, http.StatusTooManyRequests, qm.ERateLimited, "a point past the rate")
				if res.Header().Get("Retry-After") == "" {
					t.Error("no Retry-After on a refused point")
				}
				if res := f.sendOsmAnd("GET", fmt.Sprintf("/?id=%s&key=%s&lat=1&lon=2&timestamp=%d", a.device.Ident, a.deviceToken.bearer, at+2), "", ""); res.Code != http.StatusTooManyRequests || res.Header().Get("Retry-After") == "" {
					t.Errorf("OsmAnd past the rate: got %d %q, want 429 with Retry-After", res.Code, res.Header().Get("Retry-After"))
				}
			})
			t.Run("DeviceRate", func(t *testing.T) {
				// Each device has its own bucket: one device past its rate
				// does not hold back another of the same tenant.
				set(`{"set":{"device_points_per_second":0.001}}`)
				defer set(`{"unset":["device_points_per_second"]}`)
				_, token := f.mustDevice(t, a.t)
				other := principal{name: "another device", bearer: token}
				at := time.Now().Unix() + 30
				mustStatus(t, f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at)), http.StatusOK, "the device's one point")
				refused(f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at+1)), http.StatusTooManyRequests, qm.ERateLimited, "the device's next")
				mustStatus(t, f.do(t, other, "POST", "/ingest/v1/points", point(at+2)), http.StatusOK, "another device's point")
			})
			t.Run("Quotas", func(t *testing.T) {
				// The meter counts this node's use at once; what other
				// nodes used reaches it at each flush.
				f.meter.Flush(t.Context())
				var u struct {
					Quotas []struct {
						Quota string `json:"quota"`
						Used  int64  `json:"used"`
					} `json:"quotas"`
				}
				res := f.do(t, a.admin, "GET", tenantPath("/usage")(a), "")
				mustStatus(t, res, http.StatusOK, "A's usage")
				json.Unmarshal(res.Body.Bytes(), &u)
				var used int64
				for _, q := range u.Quotas {
					if q.Quota == "api_requests_per_month" {
						used = q.Used
					}
				}
				if used == 0 {
					t.Fatalf("A's usage tells %+v, want its requests counted", u)
				}
				// Room for two more requests this month, then none.
				set(fmt.Sprintf(`{"set":{"api_requests_per_month":%d,"points_per_month":1}}`, used+3))
				defer set(`{"unset":["api_requests_per_month","points_per_month"]}`)
				for range 2 {
					mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/locations")(a), ""), http.StatusOK, "a request of the month's last")
				}
				if lim := refused(f.do(t, a.admin, "GET", tenantPath("/locations")(a), ""), http.StatusForbidden, qm.ELimitReached, "a request past the month's quota"); lim["limit"] != "api_requests_per_month" {
					t.Fatalf("the refusal names %v", lim)
				}
				mustStatus(t, f.do(t, b.admin, "GET", tenantPath("/locations")(b), ""), http.StatusOK, "B, beside A past its quota")
				// Points: A stored some already this month; one more is past its quota of one.
				if lim := refused(f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(time.Now().Unix()+120)), http.StatusForbidden, qm.ELimitReached, "a point past the month's quota"); lim["limit"] != "points_per_month" {
					t.Fatalf("the refusal names %v", lim)
				}
				if res := f.sendOsmAnd("GET", fmt.Sprintf("/?id=%s&key=%s&lat=1&lon=2&timestamp=%d", a.device.Ident, a.deviceToken.bearer, time.Now().Unix()+121), "", ""); res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "points_per_month") {
					t.Errorf("OsmAnd past the month's quota: got %d %s, want 403 naming points_per_month", res.Code, res.Body)
				}
			})
			t.Run("StoredPoints", func(t *testing.T) {
				res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants/"+a.t.Slug, "")
				var view struct {
					StoredPoints int64 `json:"stored_points"`
				}
				json.Unmarshal(res.Body.Bytes(), &view)
				set(fmt.Sprintf(`{"set":{"max_stored_points":%d}}`, view.StoredPoints+1))
				defer set(`{"unset":["max_stored_points"]}`)
				at := time.Now().Unix() + 60 // later than any point the test sent
				mustStatus(t, f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at)), http.StatusOK, "the last point the cap allows")
				lim := refused(f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point(at+1)), http.StatusForbidden, qm.ELimitReached, "a point past the cap")
				if lim["limit"] != "max_stored_points" {
					t.Fatalf("the refusal names %v", lim)
				}
			})
			t.Run("Features", func(t *testing.T) {
				set(`{"set":{"features":["custom_fields"]}}`)
				defer set(`{"unset":["features"]}`)
				for _, c := range []struct {
					who                 principal
					method, path, ctype string
					body                string
					feature             string
				}{
					{a.admin, "GET", tenantPath("/assets/" + a.asset.ID + "/label.svg")(a), "", "", "labels"},
					{a.admin, "GET", tenantPath("/devices")(a), "", "", "fleet"},
					{a.admin, "POST", tenantPath("/imports")(a), "text/csv", "Asset Tag\nX-1\n", "import"},
					{a.adminToken, "GET", tenantPath("/locations")(a), "", "", "api_tokens"},
					{a.deviceToken, "POST", "/ingest/v1/points", "", fmt.Sprintf(`[{"time":"%s","lat":1,"lon":2}]`, time.Now().UTC().Format(time.RFC3339)), "fleet"},
				} {
					lim := refused(f.doType(t, c.who, c.method, c.path, c.body, c.ctype), http.StatusForbidden, qm.EFeatureDisabled, c.method+" "+c.path)
					if lim["feature"] != c.feature {
						t.Errorf("%s %s: the refusal names %v, want feature %s", c.method, c.path, lim, c.feature)
					}
				}
				at := time.Now().Unix()
				if res := f.sendOsmAnd("GET", fmt.Sprintf("/?id=%s&key=%s&lat=1&lon=2&timestamp=%d", a.device.Ident, a.deviceToken.bearer, at), "", ""); res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "fleet") {
					t.Errorf("OsmAnd without the fleet: got %d %s, want 403 naming the fleet", res.Code, res.Body)
				}
				// What the plan keeps still works; B keeps everything.
				mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/fields")(a), ""), http.StatusOK, "custom fields, kept")
				mustStatus(t, f.do(t, b.admin, "GET", tenantPath("/devices")(b), ""), http.StatusOK, "B's devices")
			})
		})
	}
}

// TestLoadFollowsTenants: the server tells the operator's view of load
// (quartermaster top, the top tenants' Prometheus series) of each
// tenant's requests, and of nobody else's.
func TestLoadFollowsTenants(t *testing.T) {
	load := metrics.NewLoad(5, nil)
	f := newFixtureWith(t, backends[0], func(c *httpapi.Config) { c.Load = load })
	for range 3 {
		mustStatus(t, f.do(t, f.a.admin, "GET", tenantPath("/locations")(f.a), ""), http.StatusOK, "A's locations")
	}
	mustStatus(t, f.do(t, f.operator, "GET", "/api/v1/operator/tenants", ""), http.StatusOK, "the operator's list")
	top := load.Top(0)
	if len(top) != 1 || top[0].Tenant != f.a.t.Slug || top[0].RequestsPerSecond*metrics.LoadWindow.Seconds() < 3 {
		t.Fatalf("load: %+v; want tenant-a's three requests, and no other tenant", top)
	}
}

// TestFeaturesOff is made from the route table: every tenant route of a
// feature answers 403 feature_disabled, naming it, when the tenant's plan
// leaves the feature out, on every engine × tier; and answers as before
// when the plan has it back.
func TestFeaturesOff(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			a := f.a
			limits := "/api/v1/operator/tenants/" + a.t.Slug + "/limits"
			for _, feature := range qm.Features {
				var others []string
				for _, g := range qm.Features {
					if g != feature {
						others = append(others, `"`+string(g)+`"`)
					}
				}
				mustStatus(t, f.do(t, f.operator, "PATCH", limits, `{"set":{"features":[`+strings.Join(others, ",")+`]}}`), http.StatusOK, "leave out "+string(feature))
				seen := 0
				for _, rt := range httpapi.Routes {
					c := cases[key(rt)]
					if rt.Feature() != feature || c.stream {
						continue
					}
					seen++
					who := a.admin
					if feature == qm.FeatureAPITokens {
						who = a.adminToken // a token's every route is the feature's
					}
					res := f.doType(t, who, rt.Method, c.path(a), body(c, a), c.ctype)
					var e struct {
						Error struct {
							Code  string `json:"code"`
							Limit struct {
								Feature string `json:"feature"`
							} `json:"limit"`
						} `json:"error"`
					}
					json.Unmarshal(res.Body.Bytes(), &e)
					if res.Code != http.StatusForbidden || e.Error.Code != qm.EFeatureDisabled || e.Error.Limit.Feature != string(feature) {
						t.Errorf("%s %s without %s: got %d %s, want 403 feature_disabled naming it", rt.Method, rt.Path, feature, res.Code, res.Body)
					}
				}
				if seen == 0 {
					t.Errorf("no route belongs to feature %s", feature)
				}
				mustStatus(t, f.do(t, f.operator, "PATCH", limits, `{"unset":["features"]}`), http.StatusOK, "every feature back")
			}
			mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/fields")(a), ""), http.StatusOK, "custom fields, back")
		})
	}
}
