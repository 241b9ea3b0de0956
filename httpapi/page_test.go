package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
)

// listRoutes are the routes of the table that answer a list: a GET whose
// reply is an object holding an array of objects. Found from the types, not
// from the API's own idea of a list, so a new list route that forgets to
// page is caught.
func listRoutes() []httpapi.Route {
	var out []httpapi.Route
	for _, rt := range httpapi.Routes {
		t := reflect.TypeOf(rt.Reply)
		if _, ok := notLists[key(rt)]; ok || rt.Method != http.MethodGet || t == nil || t.Kind() != reflect.Struct {
			continue
		}
		for i := range t.NumField() {
			ft := t.Field(i).Type
			if ft.Kind() != reflect.Slice {
				continue
			}
			if e := ft.Elem(); e.Kind() == reflect.Struct || e.Kind() == reflect.Pointer && e.Elem().Kind() == reflect.Struct {
				out = append(out, rt)
				break
			}
		}
	}
	return out
}

// notLists are GET replies holding an array of objects that are not a
// list of a resource, with the reason.
var notLists = map[string]string{
	"GET /api/v1/auth/me":            "the caller's own tenants and invitations, a handful at most, not a list of a resource",
	"GET /api/v1/t/{tenant}/catalog": "the catalog's vocabulary: the reference lists the server has, fixed in code",
	"GET /api/v1/t/{tenant}/usage":   "a report of the days asked for (a year at most), a row per day and meter, not a list of a resource",
	"GET /api/v1/operator/usage":     "a month's billing report, exported whole (as CSV too), a line per tenant and meter",
	"GET /api/v1/operator/servers":   "the servers the engine was started with, a handful, each with its totals",
}

// seeders make a second row for lists whose fixture holds fewer than two
// and whose route has no POST beside it that the cross-tenant suite knows.
var seeders = map[string]func(t *testing.T, f *fixture, tf *tenantFixture){
	"GET /api/v1/t/{tenant}/devices":                               seedFleet,
	"GET /api/v1/t/{tenant}/devices/{device}/points":               seedFleet,
	"GET /api/v1/t/{tenant}/devices/{device}/trips":                seedFleet,
	"GET /api/v1/t/{tenant}/devices/{device}/aggregates":           seedFleet,
	"GET /api/v1/t/{tenant}/fleet/positions":                       seedFleet,
	"GET /api/v1/operator/devices/{device}/custody":                seedCustody,
	"GET /api/v1/t/{tenant}/assets/{id}/history":                   seedHistory,
	"GET /api/v1/t/{tenant}/invitations":                           seedInvitation,
	"GET /api/v1/t/{tenant}/alarms":                                seedAlarm,
	"GET /api/v1/t/{tenant}/events":                                seedAlarm,
	"GET /api/v1/t/{tenant}/alarms/{id}/events":                    seedAcknowledgement,
	"GET /api/v1/t/{tenant}/notification-channels/{id}/deliveries": seedDeliveries,
	"GET /api/v1/operator/tombstones":                              seedTombstone,
	"GET /api/v1/operator/exports":                                 seedExports,
	"GET /api/v1/operator/moves":                                   seedMoves,
}

// seedTombstone purges two more tenants.
func seedTombstone(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	for range 2 {
		slug := f.mustDeleted(t, tf, fmt.Sprintf("tomb-%d", nextSlug()))
		if _, err := f.e.Tenants().PurgeTenant(context.Background(), slug); err != nil {
			t.Fatal(err)
		}
	}
}

// seedExports exports the tenant twice.
func seedExports(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	f.mustExport(t, tf)
	f.mustExport(t, tf)
}

// seedAlarm raises one more alarm, of a rule of its own.
func seedAlarm(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	r, err := f.rules().CreateRule(tf.ctx, qm.RuleDefinition{Name: fmt.Sprintf("Seeded %d", nextSlug()), Kind: qm.RuleSpeed, Severity: qm.SeverityInfo,
		SpeedKMH: 100, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f.mustAlarm(t, tf, r)
}

// seedAcknowledgement acknowledges the fixture's alarm: an event more.
func seedAcknowledgement(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	if _, err := alerts.NewAlarmStore(f.e, time.Now).AcknowledgeAlarm(tf.ctx, tf.alarm.ID); err != nil {
		t.Fatal(err)
	}
}

// seedDeliveries logs two attempts at the fixture's channel.
func seedDeliveries(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	n := &qm.Notification{Event: &qm.AlarmEvent{ID: sqlstore.NewID()}, Channel: tf.channel}
	for _, status := range []int{503, 200} {
		if err := alerts.NewOutboxStore(f.e).Delivered(tf.ctx, n, qm.DeliveryAttempt{At: time.Now(), Status: status}); err != nil {
			t.Fatal(err)
		}
	}
}

// seedInvitation invites one more person to tf.
func seedInvitation(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	f.mustInvitation(t, tf, fmt.Sprintf("seeded%d@example.com", nextSlug()), "viewer")
}

// seedFleet gives the tenant a second device, and its device points in
// four hours of the last day, ignition on and off twice: two trips, four
// aggregate buckets, two positions.
func seedFleet(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	_, token := f.mustDevice(t, tf.t)
	now := time.Now().UTC().Truncate(time.Hour)
	var pts []string
	for i, h := range []int{10, 8, 6, 4} {
		pts = append(pts, fmt.Sprintf(`{"time":"%s","lat":52.5,"lon":13.4,"speed_kmh":40,"metrics":{"battery_pct":80,"ignition":%t}}`,
			now.Add(-time.Duration(h)*time.Hour).Format(time.RFC3339), i%2 == 0))
	}
	for _, who := range []principal{tf.deviceToken, {name: "second device", bearer: token}} {
		if res := f.do(t, who, "POST", "/ingest/v1/points", "["+strings.Join(pts, ",")+"]"); res.Code != http.StatusOK {
			t.Fatalf("ingest: %d %s", res.Code, res.Body)
		}
	}
}

// seedCustody takes the fixture's device back and gives it again.
func seedCustody(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	if _, err := f.e.Devices().UnassignDevice(context.Background(), tf.device.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.e.Devices().AssignDevice(context.Background(), tf.device.ID, tf.t); err != nil {
		t.Fatal(err)
	}
}

// seedHistory changes the fixture's asset.
func seedHistory(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	if res := f.do(t, tf.admin, "PATCH", tenantPath("/assets/"+tf.asset.ID)(tf), `{"notes":"seen"}`); res.Code != http.StatusOK {
		t.Fatalf("patch asset: %d %s", res.Code, res.Body)
	}
}

// page is a list reply, whatever its items are called.
type page struct {
	items []json.RawMessage
	total *int
	next  string
}

func getPage(t *testing.T, f *fixture, who principal, target string) page {
	t.Helper()
	res := f.do(t, who, "GET", target, "")
	if res.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, res.Code, res.Body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var p page
	for k, v := range body {
		switch k {
		case "total":
			p.total = new(int)
			json.Unmarshal(v, p.total)
		case "next":
			json.Unmarshal(v, &p.next)
		default:
			var items []json.RawMessage
			if json.Unmarshal(v, &items) == nil && items != nil {
				p.items = items
			}
		}
	}
	return p
}

// withQuery sets name=value in target's query.
func withQuery(target, name, value string) string {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestListsPage checks, for every list route of the table on both
// engines, that a list never ends silently: with two rows or more and
// limit=1, each page holds one item and a next cursor until the last, the
// pages together hold total items, all different, and the paging
// parameters are refused when wrong.
func TestListsPage(t *testing.T) {
	routes := listRoutes()
	if len(routes) < 20 {
		t.Fatalf("found %d list routes; the detection is broken", len(routes))
	}
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			a := f.a
			for _, rt := range routes {
				t.Run(key(rt), func(t *testing.T) {
					c, ok := cases[key(rt)]
					if !ok {
						t.Fatalf("no cross-tenant case says how to call %s", key(rt))
					}
					who := a.admin
					if rt.Access == httpapi.Operator {
						who = f.operator
					}
					target := c.path(a)
					if p := getPage(t, f, who, target); p.total == nil || *p.total < 2 {
						seedList(t, f, rt, a)
					}
					first := getPage(t, f, who, target)
					if first.total == nil {
						t.Fatalf("GET %s: no total", target)
					}
					if *first.total < 2 {
						t.Fatalf("GET %s: total %d after seeding; give the route a seeder", target, *first.total)
					}
					seen := map[string]bool{}
					cursor, pages := "", 0
					for {
						q := withQuery(target, "limit", "1")
						if cursor != "" {
							q = withQuery(q, "after", cursor)
						}
						p := getPage(t, f, who, q)
						pages++
						if len(p.items) != 1 {
							t.Fatalf("GET %s: %d items, want 1", q, len(p.items))
						}
						if seen[string(p.items[0])] {
							t.Fatalf("GET %s: an item seen on an earlier page: %s", q, p.items[0])
						}
						seen[string(p.items[0])] = true
						if p.next == "" {
							break
						}
						if pages > *first.total {
							t.Fatalf("GET %s: more pages than the total %d", target, *first.total)
						}
						cursor = p.next
					}
					if pages != *first.total {
						t.Fatalf("GET %s: %d pages of one, total says %d: a list ended without a next cursor", target, pages, *first.total)
					}
					for _, bad := range []string{"0", "-1", "many"} {
						if res := f.do(t, who, "GET", withQuery(target, "limit", bad), ""); res.Code != http.StatusBadRequest {
							t.Errorf("limit=%s: got %d %s, want 400", bad, res.Code, res.Body)
						}
					}
					if p := getPage(t, f, who, withQuery(target, "limit", "1000000")); len(p.items) != *first.total {
						t.Errorf("limit over the maximum: got %d items, want all %d", len(p.items), *first.total)
					}
				})
			}
		})
	}
}

// seedList makes a second row of rt's list: with its seeder, or with the
// POST beside it that the cross-tenant suite knows.
func seedList(t *testing.T, f *fixture, rt httpapi.Route, tf *tenantFixture) {
	t.Helper()
	if seed := seeders[key(rt)]; seed != nil {
		seed(t, f, tf)
		return
	}
	post, ok := cases["POST "+rt.Path]
	if !ok || post.body == nil {
		return
	}
	who := tf.admin
	if rt.Access == httpapi.Operator {
		who = f.operator
	}
	if post.as != nil {
		who = post.as(t, f, tf)
	}
	res := f.doType(t, who, "POST", post.path(tf), post.body(tf), post.ctype)
	if res.Code != post.ok {
		t.Fatalf("POST %s: %d %s", post.path(tf), res.Code, res.Body)
	}
	if post.settle != nil {
		post.settle(t, f, who, res)
	}
}

// TestLocationsPastTheDefaultPage is the case that was reported: a tenant
// with more locations than the default page got the first 100 and no
// cursor.
func TestLocationsPastTheDefaultPage(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			for i := range 150 {
				f.mustLocation(t, f.a, fmt.Sprintf("Room %03d", i))
			}
			target := tenantPath("/locations")(f.a)
			first := getPage(t, f, f.a.viewer, target)
			if len(first.items) != 100 || first.total == nil || *first.total != 151 || first.next == "" {
				t.Fatalf("first page: %d items, total %v, next %q; want 100 of 151 and a cursor", len(first.items), first.total, first.next)
			}
			rest := getPage(t, f, f.a.viewer, withQuery(target, "after", first.next))
			if len(rest.items) != 51 || rest.next != "" {
				t.Fatalf("second page: %d items, next %q; want the 51 left and no cursor", len(rest.items), rest.next)
			}
		})
	}
}
