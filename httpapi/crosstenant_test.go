package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// routeCase says how to call one route of the table.
type routeCase struct {
	// path is the route's path for a tenant fixture: its slug and, for
	// routes with {id}, the id of one of its resources.
	path func(tf *tenantFixture) string
	// body is a valid request body, "" for none.
	body func(tf *tenantFixture) string
	// ok is the status of an allowed call.
	ok int
	// disposable, for routes that destroy what they name (or send to it),
	// makes a fresh resource for the allowed call and returns the path to
	// it.
	disposable func(t *testing.T, f *fixture, tf *tenantFixture) string
	// ctype is the body's content type when not JSON.
	ctype string
	// as, when set, is who makes the allowed call instead of the admin.
	as func(t *testing.T, f *fixture, tf *tenantFixture) principal
	// stream marks a route that answers a stream of events until the
	// client goes away: the allowed call reads its head, then goes.
	stream bool
	// settle, when set, waits for what the allowed call started in the
	// background to end, so later checks see data at rest.
	settle func(t *testing.T, f *fixture, who principal, res *httptest.ResponseRecorder)
}

func tenantPath(rest string) func(tf *tenantFixture) string {
	return func(tf *tenantFixture) string { return "/api/v1/t/" + tf.t.Slug + rest }
}

// cases has one entry per route of httpapi.Routes; a route without one fails
// the suite.
var cases = map[string]routeCase{
	"GET /healthz":            {path: static("/healthz"), ok: 200},
	"GET /readyz":             {path: static("/readyz"), ok: 200},
	"POST /api/v1/auth/login": {path: static("/api/v1/auth/login"), ok: 401, body: func(*tenantFixture) string { return `{"email":"nobody@example.com","password":"wrong password"}` }},
	"POST /api/v1/auth/logout": {path: static("/api/v1/auth/logout"), ok: 204,
		as: func(t *testing.T, f *fixture, tf *tenantFixture) principal {
			return f.login(t, "admin@"+tf.t.Slug+".example")
		}},
	"GET /api/v1/auth/me":           {path: static("/api/v1/auth/me"), ok: 200},
	"GET /api/v1/map":               {path: static("/api/v1/map"), ok: 200},
	"GET /api/v1/map/tiles.pmtiles": {path: static("/api/v1/map/tiles.pmtiles"), ok: 200},
	"GET /api/v1/openapi.json":      {path: static("/api/v1/openapi.json"), ok: 200},
	"POST /api/v1/auth/password": {path: static("/api/v1/auth/password"), ok: 403,
		body: func(*tenantFixture) string {
			return `{"current_password":"not the password","new_password":"another long password"}`
		}},

	"GET /api/v1/operator/tenants":          {path: static("/api/v1/operator/tenants"), ok: 200},
	"POST /api/v1/operator/tenants":         {path: static("/api/v1/operator/tenants"), ok: 201, body: func(*tenantFixture) string { return fmt.Sprintf(`{"slug":"new-%d","name":"New"}`, nextSlug()) }},
	"GET /api/v1/operator/tenants/{tenant}": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug }, ok: 200},
	"POST /api/v1/operator/tenants/{tenant}/suspend": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/suspend" }, ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			f.mustTenant(t, tf.t.Tier, "suspend-me")
			return "/api/v1/operator/tenants/suspend-me/suspend"
		}},
	// Deletions go to tenants of their own, named after the fixture's, whose
	// slug the body confirms.
	"DELETE /api/v1/operator/tenants/{tenant}": {path: operatorPath(""), ok: 200,
		body: func(tf *tenantFixture) string { return `{"confirm":"gone-` + tf.t.Slug + `","grace_hours":48}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			f.mustTenant(t, tf.t.Tier, "gone-"+tf.t.Slug)
			return "/api/v1/operator/tenants/gone-" + tf.t.Slug
		}},
	"POST /api/v1/operator/tenants/{tenant}/restore": {path: operatorPath("/restore"), ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/tenants/" + f.mustDeleted(t, tf, "back-"+tf.t.Slug) + "/restore"
		}},
	"POST /api/v1/operator/tenants/{tenant}/purge": {path: operatorPath("/purge"), ok: 200,
		body: func(tf *tenantFixture) string { return `{"confirm":"purged-` + tf.t.Slug + `"}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/tenants/" + f.mustDeleted(t, tf, "purged-"+tf.t.Slug) + "/purge"
		}},
	"GET /api/v1/operator/tombstones": {path: static("/api/v1/operator/tombstones"), ok: 200},
	"GET /api/v1/operator/servers":    {path: static("/api/v1/operator/servers"), ok: 200},
	"GET /api/v1/operator/audit":      {path: static("/api/v1/operator/audit"), ok: 200},
	"POST /api/v1/operator/tenants/{tenant}/exports": {path: operatorPath("/exports"), ok: 202,
		settle: settleJob[exportJob]("/api/v1/operator/exports/")},
	"GET /api/v1/operator/exports": {path: static("/api/v1/operator/exports"), ok: 200},
	"GET /api/v1/operator/exports/{id}": {path: static("/api/v1/operator/exports/0123456789abcdef0123456789abcdef"), ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/exports/" + f.mustExport(t, tf).ID
		}},
	"GET /api/v1/operator/exports/{id}/archive": {path: static("/api/v1/operator/exports/0123456789abcdef0123456789abcdef/archive"), ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/exports/" + f.mustExport(t, tf).ID + "/archive"
		}},
	// A move moves a tenant of its own, on the fixture's tier.
	"POST /api/v1/operator/tenants/{tenant}/moves": {path: operatorPath("/moves"), ok: 202, body: moveBody,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/tenants/" + f.mustTenant(t, tf.t.Tier, fmt.Sprintf("moving-%d", nextSlug())).t.Slug + "/moves"
		},
		settle: settleJob[moveJob]("/api/v1/operator/moves/")},
	"GET /api/v1/operator/moves": {path: static("/api/v1/operator/moves"), ok: 200},
	"GET /api/v1/operator/moves/{id}": {path: static("/api/v1/operator/moves/0123456789abcdef0123456789abcdef"), ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return "/api/v1/operator/moves/" + f.mustMove(t, tf).ID
		}},
	// An import makes a tenant of its own, of an archive of the fixture's.
	"POST /api/v1/operator/imports": {path: static("/api/v1/operator/imports?slug=never-made"), ok: 201, ctype: "application/gzip",
		body: func(tf *tenantFixture) string { return string(archiveOf(tf)) },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			f.mustArchive(t, tf)
			return fmt.Sprintf("/api/v1/operator/imports?slug=imported-%d&tier=%s", nextSlug(), tf.t.Tier)
		}},
	"POST /api/v1/operator/tenants/{tenant}/members": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/members" }, ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"email":"first%d@example.com","role":"admin"}`, nextSlug())
		}},
	"POST /api/v1/auth/reset-password": {path: static("/api/v1/auth/reset-password"), ok: 200,
		body: func(tf *tenantFixture) string {
			return `{"token":"` + tf.resetSecret + `","password":"a password of my own"}`
		}},
	"GET /api/v1/invitations/{token}": {path: func(tf *tenantFixture) string { return "/api/v1/invitations/" + tf.inviteSecret }, ok: 200},
	"POST /api/v1/invitations/{token}/accept": {path: func(tf *tenantFixture) string { return "/api/v1/invitations/" + tf.inviteSecret + "/accept" }, ok: 200,
		body: func(*tenantFixture) string { return `{"name":"New Person","password":"a password of my own"}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			_, secret := f.mustInvitation(t, tf, fmt.Sprintf("invitee%d@example.com", nextSlug()), "viewer")
			return "/api/v1/invitations/" + secret + "/accept"
		}},
	"POST /api/v1/operator/tenants/{tenant}/break-glass": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/break-glass" }, ok: 201,
		body: func(*tenantFixture) string { return `{"reason":"ticket 42"}` },
		// The allowed call opens A to the operator: do it on another tenant,
		// so the suite's operator-gets-404 cases keep their meaning.
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			slug := fmt.Sprintf("glass-%d", nextSlug())
			f.mustTenant(t, tf.t.Tier, slug)
			return "/api/v1/operator/tenants/" + slug + "/break-glass"
		}},
	"GET /api/v1/operator/tenants/{tenant}/limits": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/limits" }, ok: 200},
	"PATCH /api/v1/operator/tenants/{tenant}/limits": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/limits" }, ok: 200,
		body: func(*tenantFixture) string { return `{"set":{"max_assets":1000,"features":["fleet"]}}` },
		// The allowed call limits the tenant: do it on another.
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			slug := fmt.Sprintf("limited-%d", nextSlug())
			f.mustTenant(t, tf.t.Tier, slug)
			return "/api/v1/operator/tenants/" + slug + "/limits"
		}},
	"GET /api/v1/operator/plans":        {path: static("/api/v1/operator/plans"), ok: 200},
	"GET /api/v1/operator/usage":        {path: static("/api/v1/operator/usage?format=csv"), ok: 200},
	"GET /api/v1/t/{tenant}/usage":      {path: tenantPath("/usage"), ok: 200},
	"GET /api/v1/operator/plans/{plan}": {path: static("/api/v1/operator/plans/default"), ok: 200},
	"POST /api/v1/operator/plans": {path: static("/api/v1/operator/plans"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"name":"plan-%d","limits":{"max_assets":1000}}`, nextSlug())
		}},
	"PATCH /api/v1/operator/plans/{plan}": {path: static("/api/v1/operator/plans/default"), ok: 200,
		body: func(*tenantFixture) string { return `{"set":{"max_assets":5}}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			name := fmt.Sprintf("plan-%d", nextSlug())
			if err := catalog.NewPlanStore(f.e.Tenants()).CreatePlan(context.Background(), &qm.Plan{Name: name}); err != nil {
				t.Fatal(err)
			}
			return "/api/v1/operator/plans/" + name
		}},
	"POST /api/v1/operator/tenants/{tenant}/resume": {path: func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + "/resume" }, ok: 200},

	"GET /api/v1/t/{tenant}":           {path: tenantPath(""), ok: 200},
	"GET /api/v1/t/{tenant}/locations": {path: tenantPath("/locations"), ok: 200},
	"POST /api/v1/t/{tenant}/locations": {path: tenantPath("/locations"), ok: 201,
		body: func(*tenantFixture) string { return fmt.Sprintf(`{"name":"Room %d"}`, nextSlug()) }},
	"GET /api/v1/t/{tenant}/locations/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/locations/" + tf.location.ID)(tf) }, ok: 200},
	"PATCH /api/v1/t/{tenant}/locations/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/locations/" + tf.location.ID)(tf) }, ok: 200,
		body: func(*tenantFixture) string { return `{"notes":"patched"}` }},
	"DELETE /api/v1/t/{tenant}/locations/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/locations/" + tf.location.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return tenantPath("/locations/" + f.mustLocation(t, tf, fmt.Sprintf("Doomed %d", nextSlug())).ID)(tf)
		}},
	"GET /api/v1/t/{tenant}/geofences": {path: tenantPath("/geofences"), ok: 200},
	"POST /api/v1/t/{tenant}/geofences": {path: tenantPath("/geofences"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"name":"Yard %d","shape":{"type":"Polygon","coordinates":[[[13,52],[14,52],[14,53],[13,52]]]}}`, nextSlug())
		}},
	"GET /api/v1/t/{tenant}/geofences/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/geofences/" + tf.geofence.ID)(tf) }, ok: 200},
	"PATCH /api/v1/t/{tenant}/geofences/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/geofences/" + tf.geofence.ID)(tf) }, ok: 200,
		body: func(*tenantFixture) string {
			return `{"shape":{"type":"Feature","geometry":{"type":"Point","coordinates":[13.4,52.5]},"properties":{"radius_m":250}}}`
		}},
	"DELETE /api/v1/t/{tenant}/geofences/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/geofences/" + tf.geofence.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return tenantPath("/geofences/" + f.mustGeofence(t, tf, fmt.Sprintf("Doomed %d", nextSlug())).ID)(tf)
		}},
	"GET /api/v1/t/{tenant}/rules": {path: tenantPath("/rules"), ok: 200},
	"POST /api/v1/t/{tenant}/rules": {path: tenantPath("/rules"), ok: 201,
		body: func(tf *tenantFixture) string {
			return fmt.Sprintf(`{"name":"Speeding %d","kind":"speed","severity":"warning","speed_kmh":90,"for_s":10,"device_ids":[%q]}`, nextSlug(), tf.device.ID)
		}},
	"GET /api/v1/t/{tenant}/rules/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/rules/" + tf.rule.ID)(tf) }, ok: 200},
	"PUT /api/v1/t/{tenant}/rules/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/rules/" + tf.rule.ID)(tf) }, ok: 200,
		body: func(tf *tenantFixture) string {
			b, _ := json.Marshal(fixtureRule(tf))
			return string(b)
		}},
	"DELETE /api/v1/t/{tenant}/rules/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/rules/" + tf.rule.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			r, err := f.rules().CreateRule(tf.ctx, qm.RuleDefinition{Name: fmt.Sprintf("Doomed %d", nextSlug()), Kind: qm.RuleOverdue, Severity: qm.SeverityInfo})
			if err != nil {
				t.Fatal(err)
			}
			return tenantPath("/rules/" + r.ID)(tf)
		}},
	"GET /api/v1/t/{tenant}/alarms":             {path: tenantPath("/alarms"), ok: 200},
	"GET /api/v1/t/{tenant}/alarms/{id}":        {path: func(tf *tenantFixture) string { return tenantPath("/alarms/" + tf.alarm.ID)(tf) }, ok: 200},
	"GET /api/v1/t/{tenant}/alarms/{id}/events": {path: func(tf *tenantFixture) string { return tenantPath("/alarms/" + tf.alarm.ID + "/events")(tf) }, ok: 200},
	"GET /api/v1/t/{tenant}/events":             {path: tenantPath("/events"), ok: 200},
	"POST /api/v1/t/{tenant}/alarms/{id}/acknowledge": {path: func(tf *tenantFixture) string { return tenantPath("/alarms/" + tf.alarm.ID + "/acknowledge")(tf) }, ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return disposableAlarm(t, f, tf, "acknowledge")
		}},
	"POST /api/v1/t/{tenant}/alarms/{id}/clear": {path: func(tf *tenantFixture) string { return tenantPath("/alarms/" + tf.alarm.ID + "/clear")(tf) }, ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string { return disposableAlarm(t, f, tf, "clear") }},
	"GET /api/v1/t/{tenant}/settings/general": {path: tenantPath("/settings/general"), ok: 200},
	"PUT /api/v1/t/{tenant}/settings/general": {path: tenantPath("/settings/general"), ok: 200,
		body: func(*tenantFixture) string { return `{"time_zone":"Europe/Berlin"}` }},
	"GET /api/v1/t/{tenant}/notifications": {path: tenantPath("/notifications"), ok: 200},
	"POST /api/v1/t/{tenant}/notifications/read": {path: tenantPath("/notifications/read"), ok: 204,
		body: func(tf *tenantFixture) string { return `{"event_id":"` + tf.event.ID + `"}` }},
	"GET /api/v1/t/{tenant}/notification-channels": {path: tenantPath("/notification-channels"), ok: 200},
	"POST /api/v1/t/{tenant}/notification-channels": {path: tenantPath("/notification-channels"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"name":"Desk %d","kind":"email","enabled":true,"emails":["desk@example.com"]}`, nextSlug())
		}},
	"GET /api/v1/t/{tenant}/notification-channels/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/notification-channels/" + tf.channel.ID)(tf) }, ok: 200},
	"PUT /api/v1/t/{tenant}/notification-channels/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/notification-channels/" + tf.channel.ID)(tf) }, ok: 200,
		body: func(*tenantFixture) string {
			return `{"name":"Hooks","kind":"webhook","enabled":true,"url":"https://93.184.215.14/qm?v=2"}`
		}},
	"DELETE /api/v1/t/{tenant}/notification-channels/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/notification-channels/" + tf.channel.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return tenantPath("/notification-channels/" + f.mustChannel(t, tf, fmt.Sprintf("Doomed %d", nextSlug())).ID)(tf)
		}},
	"GET /api/v1/t/{tenant}/notification-channels/{id}/deliveries": {path: func(tf *tenantFixture) string {
		return tenantPath("/notification-channels/" + tf.channel.ID + "/deliveries")(tf)
	}, ok: 200},
	// The allowed test goes to an e-mail channel, and fails at once: the
	// fixture has no mail server. Channel tests are TestChannelTest's.
	"POST /api/v1/t/{tenant}/notification-channels/{id}/test": {path: func(tf *tenantFixture) string {
		return tenantPath("/notification-channels/" + tf.channel.ID + "/test")(tf)
	}, ok: 200, disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
		ch, _, err := f.channels().CreateChannel(tf.ctx, qm.ChannelDefinition{Name: fmt.Sprintf("Desk %d", nextSlug()), Kind: qm.ChannelEmail, Enabled: true,
			Emails: []string{"desk@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		return tenantPath("/notification-channels/" + ch.ID + "/test")(tf)
	}},
	"GET /api/v1/t/{tenant}/tokens": {path: tenantPath("/tokens"), ok: 200},
	"POST /api/v1/t/{tenant}/tokens": {path: tenantPath("/tokens"), ok: 201,
		body: func(*tenantFixture) string { return `{"name":"ci","role":"viewer"}` }},
	"DELETE /api/v1/t/{tenant}/tokens/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/tokens/" + tf.token.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			res := f.do(t, tf.admin, "POST", tenantPath("/tokens")(tf), `{"name":"doomed","role":"viewer"}`)
			id := between(res.Body.String(), `"id":"`, `"`)
			return tenantPath("/tokens/" + id)(tf)
		}},
	"GET /api/v1/t/{tenant}/audit":       {path: tenantPath("/audit"), ok: 200},
	"GET /api/v1/t/{tenant}/members":     {path: tenantPath("/members"), ok: 200},
	"GET /api/v1/t/{tenant}/people":      {path: tenantPath("/people"), ok: 200},
	"GET /api/v1/t/{tenant}/departments": {path: tenantPath("/departments"), ok: 200},
	"GET /api/v1/t/{tenant}/roles":       {path: tenantPath("/roles"), ok: 200},
	"POST /api/v1/t/{tenant}/roles": {path: tenantPath("/roles"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"name":"auditor-%d","permissions":["audit:read"]}`, nextSlug())
		}},
	"DELETE /api/v1/t/{tenant}/roles/{name}": {path: tenantPath("/roles/auditor"), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			name := fmt.Sprintf("doomed-%d", nextSlug())
			if res := f.do(t, tf.admin, "POST", tenantPath("/roles")(tf), `{"name":"`+name+`","permissions":["assets:read"]}`); res.Code != http.StatusCreated {
				t.Fatalf("create role: %d %s", res.Code, res.Body)
			}
			return tenantPath("/roles/" + name)(tf)
		}},
	"POST /api/v1/t/{tenant}/departments": {path: tenantPath("/departments"), ok: 201,
		body: func(*tenantFixture) string { return fmt.Sprintf(`{"name":"Team %d"}`, nextSlug()) }},
	"GET /api/v1/t/{tenant}/departments/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/departments/" + tf.department.ID)(tf) }, ok: 200},
	"PATCH /api/v1/t/{tenant}/departments/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/departments/" + tf.department.ID)(tf) }, ok: 200,
		body: func(*tenantFixture) string { return `{"name":"Logistics"}` }},
	"DELETE /api/v1/t/{tenant}/departments/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/departments/" + tf.department.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			d := &qm.Department{Name: fmt.Sprintf("Doomed %d", nextSlug())}
			if err := dataplane.NewDepartmentStore(f.e, time.Now).CreateDepartment(tf.ctx, d); err != nil {
				t.Fatal(err)
			}
			return tenantPath("/departments/" + d.ID)(tf)
		}},
	"POST /api/v1/t/{tenant}/members": {path: tenantPath("/members"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"email":"new%d@example.com","role":"viewer"}`, nextSlug())
		}},
	"GET /api/v1/t/{tenant}/invitations": {path: tenantPath("/invitations"), ok: 200},
	"DELETE /api/v1/t/{tenant}/invitations/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/invitations/" + tf.invitation.ID)(tf) }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			inv, _ := f.mustInvitation(t, tf, fmt.Sprintf("doomed%d@example.com", nextSlug()), "viewer")
			return tenantPath("/invitations/" + inv.ID)(tf)
		}},
	// The allowed calls change members made for them, so the fixture's
	// members keep their roles for the other cases.
	"PATCH /api/v1/t/{tenant}/members/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/members/" + tf.viewerID)(tf) }, ok: 200,
		body: func(*tenantFixture) string { return `{"role":"technician"}` }, disposable: disposableMember},
	"DELETE /api/v1/t/{tenant}/members/{id}": {path: func(tf *tenantFixture) string { return tenantPath("/members/" + tf.viewerID)(tf) }, ok: 204,
		disposable: disposableMember},
}

func static(p string) func(*tenantFixture) string { return func(*tenantFixture) string { return p } }

var slugs atomic.Int64

// nextSlug numbers what the suites create, unique across the backends that
// run side by side.
func nextSlug() int { return int(slugs.Add(1)) }

// operatorPath is the path of the fixture's tenant under the operator's
// routes, with rest.
func operatorPath(rest string) func(tf *tenantFixture) string {
	return func(tf *tenantFixture) string { return "/api/v1/operator/tenants/" + tf.t.Slug + rest }
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}

func key(rt httpapi.Route) string { return rt.Method + " " + rt.Path }

func body(c routeCase, tf *tenantFixture) string {
	if c.body == nil {
		return ""
	}
	return c.body(tf)
}

// spellings is variants of target, or target alone through servers of
// the backend's own: each node's router makes every spelling canonical
// before it reads a credential, as the suite shows on every backend, so
// trying them there would only multiply its requests.
func (f *fixture) spellings(target string) []string {
	if f.through != "" {
		return []string{target}
	}
	return variants(target)
}

// variants spells a path in ways that must get the same decision.
func variants(target string) []string {
	p, query, _ := strings.Cut(target, "?")
	if query != "" {
		query = "?" + query
	}
	vs := []string{
		p,
		"/" + p,
		strings.Replace(p, "/api/v1/", "/api//v1/", 1),
		strings.Replace(p, "/api/v1/", "/api/./v1/", 1),
		strings.Replace(p, "/api/v1/", "/api/%2e/v1/", 1),
		strings.Replace(p, "/api/v1/", "/api/x/../v1/", 1),
		p + "/",
		strings.ToUpper(p[:4]) + p[4:],
	}
	for i := range vs {
		vs[i] += query
	}
	return vs
}

// TestCrossTenant runs every route of the table, for every engine × tier,
// as every kind of caller, and checks that tenant B never reads or changes
// tenant A, that a role without the permission changes nothing, that every
// spelling of a path gets the canonical path's decision, and that a body
// cannot reach across tenants.
func TestCrossTenant(t *testing.T) { crossTenant(t, backends) }

// TestCrossTenantThrough runs the suite against servers already running:
// QM_CROSSTENANT_URL is where they answer (a load balancer in front of
// several nodes), QM_CROSSTENANT_DATABASE_URL the privileged URL of the
// PostgreSQL database they share, where the fixture's tenants are made and
// read back. The multi-node test of cmd/quartermaster runs it; alone, it
// skips.
func TestCrossTenantThrough(t *testing.T) {
	target, db := os.Getenv("QM_CROSSTENANT_URL"), os.Getenv("QM_CROSSTENANT_DATABASE_URL")
	if target == "" || db == "" {
		t.Skip("runs only from the multi-node test, which sets QM_CROSSTENANT_URL and QM_CROSSTENANT_DATABASE_URL")
	}
	crossTenant(t, []backend{{name: "through", tier: qm.TierPool, through: target,
		open: func(t testing.TB) engine { return openPostgresAt(t, db, nil) }}})
}

// crossTenant is TestCrossTenant on backends. Through servers of their
// own (a backend's through), the calls that need the fixture's own server
// are left out: the allowed calls of public and operator routes (some
// make their subject with it, such as an export, or need its map tiles),
// and OsmAnd, which it serves.
func crossTenant(t *testing.T, backends []backend) {
	for _, rt := range httpapi.Routes {
		if _, ok := cases[key(rt)]; !ok {
			t.Errorf("route %s has no case in the cross-tenant suite", key(rt))
		}
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			// Backends share nothing, and half of a PostgreSQL backend's
			// time is the server's: running them side by side uses both.
			t.Parallel()
			f := newFixture(t, be)
			a, b := f.a, f.b
			for _, rt := range httpapi.Routes {
				c := cases[key(rt)]
				t.Run(key(rt), func(t *testing.T) {
					switch rt.Access {
					case httpapi.Tenant:
						checkTenantRoute(t, f, rt, c, a, b)
					case httpapi.Operator:
						checkOperatorRoute(t, f, rt, c, a)
					case httpapi.Device:
						checkDeviceRoute(t, f, rt, c, a, b)
					}
					if f.through == "" || rt.Access == httpapi.Tenant || rt.Access == httpapi.Device {
						checkAllowed(t, f, rt, c, a)
					}
				})
			}
			t.Run("OsmAndLandsInTheDevicesTenant", func(t *testing.T) {
				if f.through != "" {
					t.Skip("OsmAnd is served by the fixture's own server")
				}
				before := f.snapshot(t, a)
				at := time.Now().Unix() // newer than any point the suite sent before
				if res := f.sendOsmAnd("GET", fmt.Sprintf("/?id=%s&key=%s&lat=1&lon=2&timestamp=%d", b.device.Ident, b.deviceToken.bearer, at), "", ""); res.Code != http.StatusOK {
					t.Fatalf("B's device: %d %s", res.Code, res.Body)
				}
				if f.snapshot(t, a) != before {
					t.Fatal("B's device's point changed A's data")
				}
				if res := f.do(t, b.viewer, "GET", tenantPath("/devices/"+b.device.Ident+"/latest")(b), ""); !strings.Contains(res.Body.String(), `"lon":2`) {
					t.Fatalf("B's latest: %s", res.Body)
				}
			})
			t.Run("AssetNamesOtherTenantsReferences", func(t *testing.T) {
				before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
				for _, body := range []string{
					`{"model_id":"` + b.model.ID + `"}`,
					`{"model_id":"` + a.model.ID + `","location_id":"` + b.location.ID + `"}`,
					`{"model_id":"` + a.model.ID + `","department_id":"` + b.department.ID + `"}`,
					`{"model_id":"` + a.model.ID + `","status_id":"` + b.refs["status_labels"].ID + `"}`,
					`{"model_id":"` + a.model.ID + `","supplier_id":"` + b.refs["suppliers"].ID + `"}`,
				} {
					for _, req := range [][2]string{{"POST", tenantPath("/assets")(a)}, {"PATCH", tenantPath("/assets/" + a.asset.ID)(a)}} {
						if res := f.do(t, a.admin, req[0], req[1], body); res.Code != http.StatusUnprocessableEntity {
							t.Errorf("%s %s %s: got %d %s, want 422", req[0], req[1], body, res.Code, res.Body)
						}
					}
				}
				for _, body := range []string{
					`{"holder_type":"user","holder_id":"` + b.viewerID + `"}`,
					`{"holder_type":"location","holder_id":"` + b.location.ID + `"}`,
					`{"holder_type":"asset","holder_id":"` + b.asset.ID + `"}`,
				} {
					if res := f.do(t, a.admin, "POST", tenantPath("/assets/"+a.asset.ID+"/checkout")(a), body); res.Code != http.StatusUnprocessableEntity {
						t.Errorf("check out to %s: got %d %s, want 422", body, res.Code, res.Body)
					}
				}
				for _, body := range []string{
					`{"assignee_type":"user","assignee_id":"` + b.viewerID + `"}`,
					`{"assignee_type":"asset","assignee_id":"` + b.asset.ID + `"}`,
				} {
					if res := f.do(t, a.admin, "POST", tenantPath("/licenses/"+a.license.ID+"/seats")(a), body); res.Code != http.StatusUnprocessableEntity {
						t.Errorf("seat for %s: got %d %s, want 422", body, res.Code, res.Body)
					}
				}
				if res := f.do(t, a.admin, "PATCH", tenantPath("/models/"+a.model.ID)(a), `{"depreciation_id":"`+b.depreciation.ID+`"}`); res.Code != http.StatusUnprocessableEntity {
					t.Errorf("model with B's schedule: got %d, want 422", res.Code)
				}
				if res := f.do(t, a.admin, "POST", tenantPath("/fieldsets")(a), `{"name":"Stolen","field_ids":["`+b.field.ID+`"]}`); res.Code != http.StatusUnprocessableEntity {
					t.Errorf("field set with B's field: got %d, want 422", res.Code)
				}
				if res := f.do(t, a.admin, "PATCH", tenantPath("/assets/"+a.asset.ID)(a), `{"fields":{"`+b.field.Key+`":"x"}}`); res.Code != http.StatusUnprocessableEntity {
					t.Errorf("asset with B's field: got %d, want 422", res.Code)
				}
				if res := f.do(t, a.admin, "GET", tenantPath("/assets?field."+b.field.Key+"=B-"+b.t.Slug)(a), ""); res.Code != http.StatusBadRequest {
					t.Errorf("filter on B's field: got %d %s, want 400", res.Code, res.Body)
				}
				if res := f.do(t, a.admin, "GET", tenantPath("/assets/labels?ids="+a.asset.ID+","+b.asset.ID)(a), ""); res.Code != http.StatusNotFound {
					t.Errorf("labels naming B's asset: got %d, want 404", res.Code)
				}
				res := f.do(t, a.admin, "POST", tenantPath("/models")(a), `{"name":"Linked","category_id":"`+b.refs["categories"].ID+`"}`)
				if res.Code != http.StatusUnprocessableEntity {
					t.Errorf("model with B's category: got %d, want 422", res.Code)
				}
				if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
					t.Fatal("a refused request changed data")
				}
			})
			t.Run("AssetListNamesOtherTenantsData", func(t *testing.T) {
				if _, err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).CheckOut(b.ctx, b.asset.ID,
					qm.CheckOut{HolderType: qm.HolderUser, HolderID: b.viewerID}); err != nil {
					t.Fatal(err)
				}
				for _, query := range []string{
					"q=SN-tenant-b", // B's serial: through the text index
					"q=-b",          // too short for it
					"manufacturer_id=" + b.refs["manufacturers"].ID,
					"holder_type=user&holder_id=" + b.viewerID,
					"holder_type=user",
				} {
					for _, route := range []string{"/assets?", "/assets/export?"} {
						res := f.do(t, a.admin, "GET", tenantPath(route+query)(a), "")
						if res.Code != http.StatusOK || strings.Contains(res.Body.String(), b.asset.ID) || strings.Contains(res.Body.String(), "SN-tenant-b") {
							t.Errorf("A lists %s%s: got %d %s, want 200 without B's asset", route, query, res.Code, res.Body)
						}
					}
				}
			})
			t.Run("BodyCarriesTenantID", func(t *testing.T) {
				before := f.snapshot(t, a)
				res := f.do(t, a.admin, "POST", tenantPath("/locations")(a), `{"name":"Sneaky","tenant_id":"`+b.t.ID+`"}`)
				if res.Code != http.StatusBadRequest || f.snapshot(t, a) != before {
					t.Fatalf("got %d %s, want 400 and nothing changed", res.Code, res.Body)
				}
			})
			t.Run("MemberInOtherTenantsDepartment", func(t *testing.T) {
				before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
				res := f.do(t, a.admin, "POST", tenantPath("/members")(a), `{"email":"linked@example.com","role":"viewer","department_id":"`+b.department.ID+`"}`)
				res2 := f.do(t, a.admin, "PATCH", tenantPath("/members/"+a.viewerID)(a), `{"department_id":"`+b.department.ID+`"}`)
				if res.Code != http.StatusUnprocessableEntity || res2.Code != http.StatusUnprocessableEntity {
					t.Fatalf("got %d %s and %d %s, want 422 twice", res.Code, res.Body, res2.Code, res2.Body)
				}
				if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
					t.Fatal("a refused request changed data")
				}
			})
			t.Run("BodyNamesOtherTenantsLocation", func(t *testing.T) {
				before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
				for _, req := range [][2]string{
					{"POST", tenantPath("/locations")(a)},
					{"PATCH", tenantPath("/locations/" + a.location.ID)(a)},
					{"POST", tenantPath("/departments")(a)},
					{"PATCH", tenantPath("/departments/" + a.department.ID)(a)},
				} {
					parent := b.location.ID
					if strings.Contains(req[1], "departments") {
						parent = b.department.ID
					}
					res := f.do(t, a.admin, req[0], req[1], `{"name":"Linked","parent_id":"`+parent+`"}`)
					if res.Code != http.StatusUnprocessableEntity {
						t.Errorf("%s %s: got %d %s, want 422", req[0], req[1], res.Code, res.Body)
					}
				}
				if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
					t.Fatal("a refused request changed data")
				}
			})
		})
	}
}

// checkTenantRoute calls a tenant route as everyone who must be refused.
func checkTenantRoute(t *testing.T, f *fixture, rt httpapi.Route, c routeCase, a, b *tenantFixture) {
	type refusal struct {
		who    principal
		path   string
		status int
		// spelled tries every spelling of the path. The spellings reach
		// the router's one canonical path before any credential is read,
		// so trying them as the anonymous caller and as the other
		// tenant's admin shows it; the other callers take the canonical
		// path alone, which keeps the suite's run time in bounds.
		spelled bool
	}
	refusals := []refusal{
		{principal{name: "anonymous"}, c.path(a), http.StatusUnauthorized, true},
		{principal{name: "bad token", bearer: "qmt_forged"}, c.path(a), http.StatusUnauthorized, false},
		{b.admin, c.path(a), http.StatusNotFound, true},
		{b.adminToken, c.path(a), http.StatusNotFound, false},
		{f.operator, c.path(a), http.StatusNotFound, false}, // no break-glass without a record
	}
	if strings.Contains(rt.Path, "{id}") {
		// B's own tenant in the path, A's resource id: still not found.
		aPath := c.path(a)
		bPath := strings.Replace(aPath, "/t/"+a.t.Slug+"/", "/t/"+b.t.Slug+"/", 1)
		refusals = append(refusals, refusal{b.admin, bPath, http.StatusNotFound, true}, refusal{b.adminToken, bPath, http.StatusNotFound, false})
	}
	if rt.Permission != "" && !mustRole("viewer").Allows(rt.Permission) {
		refusals = append(refusals, refusal{a.viewer, c.path(a), http.StatusForbidden, false}, refusal{a.viewerToken, c.path(a), http.StatusForbidden, false})
	}
	if rt.Method != "GET" {
		noCSRF := a.admin
		noCSRF.csrf = "wrong"
		refusals = append(refusals, refusal{noCSRF, c.path(a), http.StatusForbidden, false})
	}
	// One snapshot of each tenant before the refusals and one after: a
	// change by any of them shows, and the failure names them all.
	before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
	var tried []string
	for _, ref := range refusals {
		paths := []string{ref.path}
		if ref.spelled {
			paths = f.spellings(ref.path)
		}
		for _, p := range paths {
			res := f.doType(t, ref.who, rt.Method, p, body(c, a), c.ctype)
			if res.Code != ref.status {
				t.Errorf("%s %s as %s: got %d %s, want %d", rt.Method, p, ref.who.name, res.Code, res.Body, ref.status)
			}
		}
		tried = append(tried, ref.who.name)
	}
	if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
		t.Fatalf("%s %s was refused (as %s) but changed data", rt.Method, c.path(a), strings.Join(tried, ", "))
	}
}

// checkOperatorRoute calls an operator route as everyone but the operator.
func checkOperatorRoute(t *testing.T, f *fixture, rt httpapi.Route, c routeCase, a *tenantFixture) {
	before := f.snapshot(t, a)
	for _, ref := range []struct {
		who    principal
		status int
	}{
		{principal{name: "anonymous"}, http.StatusUnauthorized},
		{a.admin, http.StatusForbidden},
		{a.adminToken, http.StatusForbidden},
	} {
		for _, p := range f.spellings(c.path(a)) {
			if res := f.doType(t, ref.who, rt.Method, p, body(c, a), c.ctype); res.Code != ref.status {
				t.Errorf("%s %s as %s: got %d %s, want %d", rt.Method, p, ref.who.name, res.Code, res.Body, ref.status)
			}
		}
	}
	if f.snapshot(t, a) != before {
		t.Fatalf("%s %s was refused but changed data", rt.Method, c.path(a))
	}
}

// checkAllowed calls a route as one who may: A's admin (the operator for
// operator routes). Reads are tried in every spelling.
func checkAllowed(t *testing.T, f *fixture, rt httpapi.Route, c routeCase, a *tenantFixture) {
	who := a.admin
	if rt.Access == httpapi.Operator {
		who = f.operator
	}
	paths := []string{c.path(a)}
	if rt.Method == "GET" {
		paths = f.spellings(c.path(a))
	}
	if c.disposable != nil {
		paths = []string{c.disposable(t, f, a)}
	}
	if c.as != nil {
		who = c.as(t, f, a)
	}
	for _, p := range paths {
		if c.stream {
			s := f.openStream(t, who, p)
			if s.res.StatusCode != c.ok || s.res.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("%s %s as %s: got %d %q, want %d text/event-stream", rt.Method, p, who.name, s.res.StatusCode, s.res.Header.Get("Content-Type"), c.ok)
			}
			s.cancel()
			continue
		}
		res := f.doType(t, who, rt.Method, p, body(c, a), c.ctype)
		if res.Code != c.ok {
			t.Errorf("%s %s as %s: got %d %s, want %d", rt.Method, p, who.name, res.Code, res.Body, c.ok)
		} else if c.settle != nil {
			c.settle(t, f, who, res)
		}
	}
}

func mustRole(name string) qm.Role {
	r, _ := qm.BuiltInRole(name)
	return r
}

func disposableMember(t *testing.T, f *fixture, tf *tenantFixture) string {
	u := f.mustUser(t, fmt.Sprintf("doomed%d@example.com", nextSlug()), false)
	f.mustJoin(t, tf, u, "viewer")
	return tenantPath("/members/" + u.ID)(tf)
}

// The operator's device routes.
func init() {
	device := func(rest string) func(tf *tenantFixture) string {
		return func(tf *tenantFixture) string { return "/api/v1/operator/devices/" + tf.device.Ident + rest }
	}
	cases["GET /api/v1/operator/devices"] = routeCase{path: static("/api/v1/operator/devices?unassigned=false"), ok: 200}
	cases["POST /api/v1/operator/devices"] = routeCase{path: static("/api/v1/operator/devices"), ok: 201,
		body: func(*tenantFixture) string { return fmt.Sprintf(`{"ident":"imei-%d","kind":"vehicle"}`, nextSlug()) }}
	cases["POST /api/v1/operator/devices/import"] = routeCase{path: static("/api/v1/operator/devices/import"), ok: 201, ctype: "text/csv",
		body: func(*tenantFixture) string {
			return fmt.Sprintf("ident,kind\nbulk-%d,phone\nbulk-%d,agent\n", nextSlug(), nextSlug())
		}}
	cases["GET /api/v1/operator/devices/{device}"] = routeCase{path: device(""), ok: 200}
	cases["PATCH /api/v1/operator/devices/{device}"] = routeCase{path: device(""), ok: 200,
		body: func(*tenantFixture) string { return `{"notes":"checked"}` }}
	cases["POST /api/v1/operator/devices/{device}/assign"] = routeCase{path: device("/assign"), ok: 200,
		body: func(tf *tenantFixture) string { return `{"tenant":"` + tf.t.Slug + `"}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			d, _ := f.mustDevice(t, nil)
			return "/api/v1/operator/devices/" + d.Ident + "/assign"
		}}
	cases["POST /api/v1/operator/devices/{device}/unassign"] = routeCase{path: device("/unassign"), ok: 200,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			d, _ := f.mustDevice(t, tf.t)
			return "/api/v1/operator/devices/" + d.Ident + "/unassign"
		}}
	cases["POST /api/v1/operator/devices/{device}/rotate"] = routeCase{path: device("/rotate"), ok: 200}
	cases["GET /api/v1/operator/devices/{device}/custody"] = routeCase{path: device("/custody"), ok: 200}
}

// The device protocol's routes, and the tenant's fleet routes.
func init() {
	asDevice := func(t *testing.T, f *fixture, tf *tenantFixture) principal { return tf.deviceToken }
	cases["POST /ingest/v1/points"] = routeCase{path: static("/ingest/v1/points"), ok: 200, as: asDevice,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`[{"time":"%s","lat":52.52,"lon":13.40,"speed_kmh":42,"metrics":{"battery_pct":80,"ignition":true}}]`,
				time.Now().Add(-time.Duration(nextSlug())*time.Second).UTC().Format(time.RFC3339))
		}}
	cases["GET /ingest/v1/config"] = routeCase{path: static("/ingest/v1/config"), ok: 200, as: asDevice}
	device := func(rest string) func(tf *tenantFixture) string {
		return func(tf *tenantFixture) string { return tenantPath("/devices/" + tf.device.Ident + rest)(tf) }
	}
	cases["GET /api/v1/t/{tenant}/devices"] = routeCase{path: tenantPath("/devices"), ok: 200}
	cases["GET /api/v1/t/{tenant}/devices/{device}"] = routeCase{path: device(""), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/devices/{device}"] = routeCase{path: device(""), ok: 200,
		body: func(tf *tenantFixture) string {
			return `{"name":"Van 7","asset_id":"` + tf.asset.ID + `","settings":{"interval_s":30}}`
		}}
	cases["GET /api/v1/t/{tenant}/devices/{device}/latest"] = routeCase{path: device("/latest"), ok: 200}
	cases["GET /api/v1/t/{tenant}/devices/{device}/points"] = routeCase{path: device("/points?limit=10"), ok: 200}
	cases["GET /api/v1/t/{tenant}/devices/{device}/trips"] = routeCase{path: device("/trips"), ok: 200}
	cases["GET /api/v1/t/{tenant}/devices/{device}/aggregates"] = routeCase{path: device("/aggregates?metric=battery_pct&bucket=1h"), ok: 200}
	cases["GET /api/v1/t/{tenant}/fleet/summary"] = routeCase{path: tenantPath("/fleet/summary"), ok: 200}
	cases["GET /api/v1/t/{tenant}/fleet/positions"] = routeCase{path: tenantPath("/fleet/positions"), ok: 200}
	cases["GET /api/v1/t/{tenant}/fleet/events"] = routeCase{path: tenantPath("/fleet/events"), ok: 200, stream: true}
	cases["GET /api/v1/t/{tenant}/settings/fleet"] = routeCase{path: tenantPath("/settings/fleet"), ok: 200}
	cases["PUT /api/v1/t/{tenant}/settings/fleet"] = routeCase{path: tenantPath("/settings/fleet"), ok: 200,
		body: func(*tenantFixture) string { return `{"retention_days":30,"offline_minutes":15,"low_battery_pct":25}` }}
}

// checkDeviceRoute calls a device route with every credential that must be
// refused, and with B's device, whose data must land in B alone.
func checkDeviceRoute(t *testing.T, f *fixture, rt httpapi.Route, c routeCase, a, b *tenantFixture) {
	_, loose := f.mustDevice(t, nil)
	rotated, stale := f.mustDevice(t, a.t)
	if _, err := f.e.Devices().RotateToken(context.Background(), rotated.ID); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []struct {
		who    principal
		status int
	}{
		{principal{name: "anonymous"}, http.StatusUnauthorized},
		{principal{name: "forged device token", bearer: "qmd_forged"}, http.StatusUnauthorized},
		{principal{name: "rotated device token", bearer: stale}, http.StatusUnauthorized},
		{a.adminToken, http.StatusUnauthorized},
		{a.admin, http.StatusUnauthorized},
		{principal{name: "unassigned device", bearer: loose}, http.StatusForbidden},
	} {
		before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
		if res := f.doType(t, ref.who, rt.Method, c.path(a), body(c, a), c.ctype); res.Code != ref.status {
			t.Errorf("%s %s as %s: got %d %s, want %d", rt.Method, c.path(a), ref.who.name, res.Code, res.Body, ref.status)
		}
		if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
			t.Fatalf("%s %s as %s was refused but changed data", rt.Method, c.path(a), ref.who.name)
		}
	}
	before := f.snapshot(t, a)
	if res := f.doType(t, b.deviceToken, rt.Method, c.path(b), body(c, b), c.ctype); res.Code != c.ok {
		t.Errorf("%s %s as B's device: got %d %s, want %d", rt.Method, c.path(b), res.Code, res.Body, c.ok)
	}
	if f.snapshot(t, a) != before {
		t.Fatalf("%s %s as B's device changed A's data", rt.Method, c.path(b))
	}
}

// The reference lists' routes are alike; so are their cases.
func init() {
	byID := func(seg string, id func(*tenantFixture) string) func(tf *tenantFixture) string {
		return func(tf *tenantFixture) string { return tenantPath(seg + "/" + id(tf))(tf) }
	}
	model := func(tf *tenantFixture) string { return tf.model.ID }
	asset := func(tf *tenantFixture) string { return tf.asset.ID }
	cases["GET /api/v1/t/{tenant}/models"] = routeCase{path: tenantPath("/models"), ok: 200}
	cases["POST /api/v1/t/{tenant}/models"] = routeCase{path: tenantPath("/models"), ok: 201, body: func(tf *tenantFixture) string {
		return fmt.Sprintf(`{"name":"Model %d","category_id":"%s"}`, nextSlug(), tf.refs["categories"].ID)
	}}
	cases["GET /api/v1/t/{tenant}/models/{id}"] = routeCase{path: byID("/models", model), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/models/{id}"] = routeCase{path: byID("/models", model), ok: 200, body: func(*tenantFixture) string { return `{"notes":"patched"}` }}
	cases["DELETE /api/v1/t/{tenant}/models/{id}"] = routeCase{path: byID("/models", model), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			m := &qm.Model{Name: fmt.Sprintf("Doomed %d", nextSlug()), CategoryID: tf.refs["categories"].ID}
			if err := dataplane.NewModelStore(f.e, time.Now).CreateModel(tf.ctx, m); err != nil {
				t.Fatal(err)
			}
			return tenantPath("/models/" + m.ID)(tf)
		}}
	cases["POST /api/v1/t/{tenant}/assets/{id}/checkout"] = routeCase{path: func(tf *tenantFixture) string { return byID("/assets", asset)(tf) + "/checkout" }, ok: 200,
		body: func(tf *tenantFixture) string {
			return `{"holder_type":"location","holder_id":"` + tf.location.ID + `"}`
		},
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			a := &qm.Asset{ModelID: tf.model.ID}
			if err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).CreateAsset(tf.ctx, a); err != nil {
				t.Fatal(err)
			}
			return tenantPath("/assets/" + a.ID + "/checkout")(tf)
		}}
	cases["POST /api/v1/t/{tenant}/assets/{id}/checkin"] = routeCase{path: func(tf *tenantFixture) string { return byID("/assets", asset)(tf) + "/checkin" }, ok: 200,
		body: func(*tenantFixture) string { return `{"note":"back"}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			s := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now)
			a := &qm.Asset{ModelID: tf.model.ID}
			if err := s.CreateAsset(tf.ctx, a); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CheckOut(tf.ctx, a.ID, qm.CheckOut{HolderType: qm.HolderUser, HolderID: tf.viewerID}); err != nil {
				t.Fatal(err)
			}
			return tenantPath("/assets/" + a.ID + "/checkin")(tf)
		}}
	cases["POST /api/v1/t/{tenant}/assets/import"] = routeCase{path: tenantPath("/assets/import?dry_run=true"), ok: 200, ctype: "text/csv",
		body: func(*tenantFixture) string {
			return "Asset Tag,Model Name,Category\nIMPORTED-1,Imported model,Imported category\n"
		}}
	cases["POST /api/v1/t/{tenant}/imports"] = routeCase{path: tenantPath("/imports?dry_run=true"), ok: 202, ctype: "text/csv",
		body: func(*tenantFixture) string {
			return "Asset Tag,Model Name,Category\nIMPORTED-2,Imported model,Imported category\n"
		},
		settle: func(t *testing.T, f *fixture, who principal, res *httptest.ResponseRecorder) {
			if job := f.waitImport(t, who, res.Header().Get("Location")); job.Status != qm.ImportDone || job.Report.Rows != 1 {
				t.Errorf("import job: %+v", job)
			}
		}}
	cases["GET /api/v1/t/{tenant}/imports"] = routeCase{path: tenantPath("/imports"), ok: 200}
	cases["GET /api/v1/t/{tenant}/imports/{id}"] = routeCase{path: byID("/imports", func(tf *tenantFixture) string { return tf.importJob.ID }), ok: 200}
	cases["GET /api/v1/t/{tenant}/assets/labels"] = routeCase{path: func(tf *tenantFixture) string { return tenantPath("/assets/labels?ids=" + tf.asset.ID)(tf) }, ok: 200}
	cases["GET /api/v1/t/{tenant}/assets/{id}/label.svg"] = routeCase{path: func(tf *tenantFixture) string { return byID("/assets", asset)(tf) + "/label.svg" }, ok: 200}
	cases["GET /api/v1/t/{tenant}/assets/export"] = routeCase{path: tenantPath("/assets/export"), ok: 200}
	cases["GET /api/v1/t/{tenant}/assets/{id}/history"] = routeCase{path: func(tf *tenantFixture) string { return byID("/assets", asset)(tf) + "/history" }, ok: 200}
	license := func(tf *tenantFixture) string { return tf.license.ID }
	cases["GET /api/v1/t/{tenant}/licenses"] = routeCase{path: tenantPath("/licenses"), ok: 200}
	cases["POST /api/v1/t/{tenant}/licenses"] = routeCase{path: tenantPath("/licenses"), ok: 201, body: func(*tenantFixture) string { return `{"name":"Suite","seats":3}` }}
	cases["GET /api/v1/t/{tenant}/licenses/{id}"] = routeCase{path: byID("/licenses", license), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/licenses/{id}"] = routeCase{path: byID("/licenses", license), ok: 200, body: func(*tenantFixture) string { return `{"notes":"patched"}` }}
	freshLicense := func(t *testing.T, f *fixture, tf *tenantFixture) (*qm.License, *qm.Seat) { return f.mustLicense(t, tf) }
	cases["DELETE /api/v1/t/{tenant}/licenses/{id}"] = routeCase{path: byID("/licenses", license), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			l, _ := freshLicense(t, f, tf)
			return tenantPath("/licenses/" + l.ID)(tf)
		}}
	cases["GET /api/v1/t/{tenant}/licenses/{id}/seats"] = routeCase{path: func(tf *tenantFixture) string { return byID("/licenses", license)(tf) + "/seats" }, ok: 200}
	cases["POST /api/v1/t/{tenant}/licenses/{id}/seats"] = routeCase{path: func(tf *tenantFixture) string { return byID("/licenses", license)(tf) + "/seats" }, ok: 201,
		body: func(tf *tenantFixture) string { return `{"assignee_type":"user","assignee_id":"` + tf.viewerID + `"}` },
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			l, _ := freshLicense(t, f, tf)
			return tenantPath("/licenses/" + l.ID + "/seats")(tf)
		}}
	cases["DELETE /api/v1/t/{tenant}/licenses/{id}/seats/{seat}"] = routeCase{
		path: func(tf *tenantFixture) string { return byID("/licenses", license)(tf) + "/seats/" + tf.seat.ID }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			l, seat := freshLicense(t, f, tf)
			return tenantPath("/licenses/" + l.ID + "/seats/" + seat.ID)(tf)
		}}
	maintPath := func(tf *tenantFixture) string { return byID("/assets", asset)(tf) + "/maintenances" }
	cases["GET /api/v1/t/{tenant}/assets/{id}/maintenances"] = routeCase{path: maintPath, ok: 200}
	cases["POST /api/v1/t/{tenant}/assets/{id}/maintenances"] = routeCase{path: maintPath, ok: 201,
		body: func(*tenantFixture) string {
			return `{"kind":"upgrade","title":"More memory","started_on":"2026-03-01"}`
		}}
	cases["PATCH /api/v1/t/{tenant}/assets/{id}/maintenances/{record}"] = routeCase{path: func(tf *tenantFixture) string { return maintPath(tf) + "/" + tf.maintenance.ID }, ok: 200,
		body: func(*tenantFixture) string { return `{"notes":"patched"}` }}
	cases["DELETE /api/v1/t/{tenant}/assets/{id}/maintenances/{record}"] = routeCase{path: func(tf *tenantFixture) string { return maintPath(tf) + "/" + tf.maintenance.ID }, ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return maintPath(tf) + "/" + f.mustMaintenance(t, tf).ID
		}}
	cases["GET /api/v1/t/{tenant}/depreciations"] = routeCase{path: tenantPath("/depreciations"), ok: 200}
	cases["POST /api/v1/t/{tenant}/depreciations"] = routeCase{path: tenantPath("/depreciations"), ok: 201,
		body: func(*tenantFixture) string { return fmt.Sprintf(`{"name":"Schedule %d","months":24}`, nextSlug()) }}
	cases["DELETE /api/v1/t/{tenant}/depreciations/{id}"] = routeCase{path: byID("/depreciations", func(tf *tenantFixture) string { return tf.depreciation.ID }), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			return tenantPath("/depreciations/" + f.mustDepreciation(t, tf).ID)(tf)
		}}
	cases["PATCH /api/v1/t/{tenant}/depreciations/{id}"] = routeCase{path: byID("/depreciations", func(tf *tenantFixture) string { return tf.depreciation.ID }), ok: 200,
		body: func(tf *tenantFixture) string {
			return `{"months":48,"category_ids":["` + tf.refs["categories"].ID + `"]}`
		}}
	cases["GET /api/v1/t/{tenant}/catalog"] = routeCase{path: tenantPath("/catalog"), ok: 200}
	cases["GET /api/v1/t/{tenant}/settings/asset-tags"] = routeCase{path: tenantPath("/settings/asset-tags"), ok: 200}
	cases["PUT /api/v1/t/{tenant}/settings/asset-tags"] = routeCase{path: tenantPath("/settings/asset-tags"), ok: 200,
		body: func(*tenantFixture) string { return `{"prefix":"LAP-","next":1000}` }}
	field := func(tf *tenantFixture) string { return tf.field.ID }
	fieldSet := func(tf *tenantFixture) string { return tf.fieldSet.ID }
	cases["GET /api/v1/t/{tenant}/fields"] = routeCase{path: tenantPath("/fields"), ok: 200}
	cases["POST /api/v1/t/{tenant}/fields"] = routeCase{path: tenantPath("/fields"), ok: 201,
		body: func(*tenantFixture) string {
			return fmt.Sprintf(`{"name":"OS %d","type":"choice","choices":["Linux","Windows"]}`, nextSlug())
		}}
	cases["GET /api/v1/t/{tenant}/fields/{id}"] = routeCase{path: byID("/fields", field), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/fields/{id}"] = routeCase{path: byID("/fields", field), ok: 200, body: func(*tenantFixture) string { return `{"help_text":"patched"}` }}
	cases["DELETE /api/v1/t/{tenant}/fields/{id}"] = routeCase{path: byID("/fields", field), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			fd, _ := f.mustField(t, tf)
			return tenantPath("/fields/" + fd.ID)(tf)
		}}
	cases["GET /api/v1/t/{tenant}/fieldsets"] = routeCase{path: tenantPath("/fieldsets"), ok: 200}
	cases["POST /api/v1/t/{tenant}/fieldsets"] = routeCase{path: tenantPath("/fieldsets"), ok: 201,
		body: func(tf *tenantFixture) string {
			return fmt.Sprintf(`{"name":"Set %d","field_ids":["%s"]}`, nextSlug(), tf.field.ID)
		}}
	cases["GET /api/v1/t/{tenant}/fieldsets/{id}"] = routeCase{path: byID("/fieldsets", fieldSet), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/fieldsets/{id}"] = routeCase{path: byID("/fieldsets", fieldSet), ok: 200, body: func(*tenantFixture) string { return `{"name":"Patched"}` }}
	cases["DELETE /api/v1/t/{tenant}/fieldsets/{id}"] = routeCase{path: byID("/fieldsets", fieldSet), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			_, set := f.mustField(t, tf)
			return tenantPath("/fieldsets/" + set.ID)(tf)
		}}
	cases["GET /api/v1/t/{tenant}/assets"] = routeCase{path: tenantPath("/assets"), ok: 200}
	cases["POST /api/v1/t/{tenant}/assets"] = routeCase{path: tenantPath("/assets"), ok: 201, body: func(tf *tenantFixture) string {
		return `{"model_id":"` + tf.model.ID + `"}`
	}}
	cases["GET /api/v1/t/{tenant}/assets/{id}"] = routeCase{path: byID("/assets", asset), ok: 200}
	cases["PATCH /api/v1/t/{tenant}/assets/{id}"] = routeCase{path: byID("/assets", asset), ok: 200, body: func(*tenantFixture) string { return `{"notes":"patched"}` }}
	cases["DELETE /api/v1/t/{tenant}/assets/{id}"] = routeCase{path: byID("/assets", asset), ok: 204,
		disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
			a := &qm.Asset{ModelID: tf.model.ID}
			if err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).CreateAsset(tf.ctx, a); err != nil {
				t.Fatal(err)
			}
			return tenantPath("/assets/" + a.ID)(tf)
		}}

	for _, list := range qm.ReferenceLists {
		seg := "/" + strings.ReplaceAll(list.Name, "_", "-")
		byID := func(tf *tenantFixture) string { return tenantPath(seg + "/" + tf.refs[list.Name].ID)(tf) }
		fresh := func(*tenantFixture) string { return fmt.Sprintf(`{"name":"Entry %d"}`, nextSlug()) }
		cases["GET /api/v1/t/{tenant}"+seg] = routeCase{path: tenantPath(seg), ok: 200}
		cases["POST /api/v1/t/{tenant}"+seg] = routeCase{path: tenantPath(seg), ok: 201, body: fresh}
		cases["GET /api/v1/t/{tenant}"+seg+"/{id}"] = routeCase{path: byID, ok: 200}
		cases["PATCH /api/v1/t/{tenant}"+seg+"/{id}"] = routeCase{path: byID, ok: 200, body: func(*tenantFixture) string { return `{"notes":"patched"}` }}
		cases["DELETE /api/v1/t/{tenant}"+seg+"/{id}"] = routeCase{path: byID, ok: 204,
			disposable: func(t *testing.T, f *fixture, tf *tenantFixture) string {
				r := &qm.Reference{Name: fmt.Sprintf("Doomed %d", nextSlug())}
				if err := dataplane.NewReferenceStore(list, f.e, time.Now).Create(tf.ctx, r); err != nil {
					t.Fatal(err)
				}
				return tenantPath(seg + "/" + r.ID)(tf)
			}}
	}
}
