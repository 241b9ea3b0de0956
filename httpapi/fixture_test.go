package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/live"
	qmmail "github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
	"github.com/quartermaster/qm/webhook"
)

// engine is an opened storage engine as the HTTP tests need it.
type engine interface {
	sqlstore.BatchRouter
	Tenants() *catalog.TenantService
	Identity() *catalog.Identity
	Devices() *catalog.DeviceStore
	Ready(ctx context.Context) error
	LatestVersion() int
}

// backend is one engine × tier the HTTP suites run on.
type backend struct {
	name string
	tier qm.Tier
	open func(t testing.TB) engine
	// through, when set, is the base URL of servers already running on
	// the engine that open opens: the fixture's requests go there instead
	// of to a server of its own.
	through string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openSQLite(t testing.TB) engine {
	db, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir(), Options: engines.Options{Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openPostgres opens a fresh database; when the test ends, every statement
// the API's requests sent as the serving role must have named its tenant
// for Citus (pgtest.CheckRouting).
func openPostgres(t testing.TB) engine {
	dbURL := pgtest.NewDatabase(t)
	return openPostgresAt(t, dbURL, pgtest.CheckRouting(t, dbURL))
}

// openPostgresAt opens the database at url, its statements traced by
// tracer (nil: not traced).
func openPostgresAt(t testing.TB, dbURL string, tracer pgx.QueryTracer) engine {
	db, err := postgres.Open(t.Context(), postgres.Config{URL: dbURL, Tracer: tracer, Options: engines.Options{Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

var backends = []backend{
	{name: "sqlite-pool", tier: qm.TierPool, open: openSQLite},
	{name: "sqlite-silo", tier: qm.TierSilo, open: openSQLite},
	{name: "postgres-pool", tier: qm.TierPool, open: openPostgres},
	{name: "postgres-bridge", tier: qm.TierBridge, open: openPostgres},
	{name: "postgres-silo", tier: qm.TierSilo, open: openPostgres},
}

// cheap hashes keep fixtures fast; sign-in verifies whatever parameters a
// hash carries.
var cheap = password.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery"

// principal is a caller's credentials.
type principal struct {
	name   string
	cookie string // session secret
	csrf   string
	bearer string // API token
	addr   string // client address, when not the default
}

// tenantFixture is one tenant with members, tokens and data.
type tenantFixture struct {
	t             *qm.Tenant
	admin, viewer principal
	adminToken    principal
	viewerToken   principal
	location      *qm.Location
	department    *qm.Department
	refs          map[string]*qm.Reference // one entry of each reference list
	model         *qm.Model
	asset         *qm.Asset
	license       *qm.License
	maintenance   *qm.Maintenance
	depreciation  *qm.Depreciation
	field         *qm.CustomField
	fieldSet      *qm.FieldSet
	importJob     *qm.ImportJob
	device        *qm.Device
	deviceToken   principal // the device's credential
	geofence      *qm.Geofence
	rule          *qm.Rule   // of the whole tenant: exit from geofence
	alarmDevice   *qm.Device // a device of the rules' alarms
	channel       *qm.Channel
	alarm         *qm.Alarm      // the rule's, for the alarm device
	event         *qm.AlarmEvent // the alarm's raise
	seat          *qm.Seat
	viewerID      string
	token         *qm.APIToken
	invitation    *qm.Invitation  // open, to new@<slug>.example as a viewer
	inviteSecret  string          // its link's secret
	resetSecret   string          // a password reset of reset@<slug>.example
	ctx           context.Context // scoped to the tenant, acting as the system
}

// fixture is a running API with two tenants of identical shape.
type fixture struct {
	e        engine
	auth     *auth.Authenticator
	handler  http.Handler
	osmand   http.Handler
	metrics  *metrics.Ingest
	operator principal
	a, b     *tenantFixture
	pmtiles  []byte // the map tiles file the server serves
	meter    *usage.Meter
	ingester *ingest.Ingester // what the API and, when a test starts one, the broker hand points to
	srv      *httpapi.Server
	through  string // the backend's: where requests go instead of to srv

	serveOnce sync.Once
	server    *httptest.Server // the handler on a real listener, for streams
}

func newFixture(t testing.TB, be backend) *fixture {
	return newFixtureWith(t, be, nil)
}

// newFixtureWith is newFixture with changes to the server's configuration.
func newFixtureWith(t testing.TB, be backend, configure func(*httpapi.Config)) *fixture {
	e := be.open(t)
	f := &fixture{e: e, metrics: &metrics.New(0).Ingest}
	f.auth = auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices(), Passwords: cheap})
	f.pmtiles = []byte("PMTiles\x03 the rest of a small archive, 0123456789")
	tiles := filepath.Join(t.TempDir(), "world.pmtiles")
	if err := os.WriteFile(tiles, f.pmtiles, 0o600); err != nil {
		t.Fatal(err)
	}
	// As `quartermaster serve` wires them: the point writer tells the
	// live hub of what it commits.
	points, hub := telemetry.NewPointWriter(e, time.Now, 0), live.NewHub()
	points.Notify(hub)
	t.Cleanup(hub.Close)
	t.Cleanup(points.Close)
	f.meter = usage.New("test-node", catalog.NewUsageStore(e.Tenants()), time.Now, quiet)
	f.ingester = ingest.NewIngester(ingest.Config{Store: points, Metrics: f.metrics, Usage: f.meter, Now: time.Now})
	archiver := lifecycle.NewArchiver(e)
	cfg := httpapi.Config{
		Ready: e.Ready, Logger: quiet, Auth: f.auth, Live: hub, Usage: f.meter,
		Services: engines.Services(e, engines.ServiceOptions{HashPassword: f.auth.HashPassword,
			Points: f.ingester, ChannelTests: f.dispatcher(nil, nil), Now: time.Now}),
		MapStyleURL: "https://tiles.example.com/style.json", MapPMTiles: tiles,
		LatestSchemaVersion: e.LatestVersion(),
		Archives:            archiver, ExportDir: t.TempDir(), Moves: archiver, Node: "test-node", Jobs: e.Tenants(),
	}
	if configure != nil {
		configure(&cfg)
	}
	srv := httpapi.New(cfg)
	f.srv = srv
	f.handler, f.osmand = srv.Handler(), srv.OsmAndHandler()
	t.Cleanup(srv.Close)
	f.mustUser(t, "operator@example.com", true)
	f.operator = f.login(t, "operator@example.com")
	f.a = f.mustTenant(t, be.tier, "tenant-a")
	f.b = f.mustTenant(t, be.tier, "tenant-b")
	if be.through != "" {
		// Signed in by the fixture's own server, whose cheap hashes it
		// keeps: the servers at through would hash each password again
		// with their own parameters. The sessions are in the database
		// they share.
		target, err := url.Parse(be.through)
		if err != nil {
			t.Fatal(err)
		}
		f.through, f.handler = be.through, httputil.NewSingleHostReverseProxy(target)
	}
	return f
}

func (f *fixture) mustUser(t testing.TB, email string, operator bool) *qm.User {
	t.Helper()
	hash, err := password.HashWith(cheap, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := &qm.User{Email: email, Name: email, Operator: operator}
	if err := f.e.Identity().CreateUser(context.Background(), u, hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) login(t testing.TB, email string) principal {
	t.Helper()
	res := f.do(t, principal{}, "POST", "/api/v1/auth/login", `{"email":"`+email+`","password":"`+testPassword+`"}`)
	if res.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, res.Code, res.Body)
	}
	var body struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.Unmarshal(res.Body.Bytes(), &body)
	for _, c := range res.Result().Cookies() {
		if c.Name == "qm_session" {
			return principal{name: email, cookie: c.Value, csrf: body.CSRFToken}
		}
	}
	t.Fatalf("login %s: no session cookie", email)
	return principal{}
}

func (f *fixture) mustTenant(t testing.TB, tier qm.Tier, slug string) *tenantFixture {
	t.Helper()
	ctx := context.Background()
	tn, err := f.e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: slug, Tier: tier})
	if err != nil {
		t.Fatal(err)
	}
	tf := &tenantFixture{t: tn, ctx: tenancy.WithTenant(ctx, tn)}
	for _, m := range []struct {
		role string
		p    *principal
	}{{"admin", &tf.admin}, {"viewer", &tf.viewer}} {
		var u *qm.User
		u, *m.p = f.mustMember(t, tf, m.role+"@"+slug+".example", m.role)
		if m.role == "viewer" {
			tf.viewerID = u.ID
		}
	}
	tokens := dataplane.NewTokenStore(f.e.Identity(), f.e, time.Now)
	for _, m := range []struct {
		role string
		p    *principal
	}{{"admin", &tf.adminToken}, {"viewer", &tf.viewerToken}} {
		tok, secret, err := tokens.CreateToken(tf.ctx, qm.NewAPIToken{Name: m.role + " token", Role: m.role})
		if err != nil {
			t.Fatal(err)
		}
		*m.p = principal{name: slug + " " + m.role + " token", bearer: secret}
		tf.token = tok
	}
	tf.location = f.mustLocation(t, tf, "HQ")
	if err := dataplane.NewRoleStore(f.e.Identity(), f.e, time.Now).CreateRole(tf.ctx, qm.Role{Name: "auditor", Permissions: []qm.Permission{qm.PermAuditRead}}); err != nil {
		t.Fatal(err)
	}
	tf.refs = map[string]*qm.Reference{}
	for _, list := range qm.ReferenceLists {
		r := &qm.Reference{Name: "Fixture " + list.Noun}
		if err := dataplane.NewReferenceStore(list, f.e, time.Now).Create(tf.ctx, r); err != nil {
			t.Fatal(err)
		}
		tf.refs[list.Name] = r
	}
	tf.depreciation = f.mustDepreciation(t, tf)
	tf.field, tf.fieldSet = f.mustField(t, tf)
	tf.model = &qm.Model{Name: "Fixture model", CategoryID: tf.refs["categories"].ID, DepreciationID: tf.depreciation.ID}
	if err := dataplane.NewModelStore(f.e, time.Now).CreateModel(tf.ctx, tf.model); err != nil {
		t.Fatal(err)
	}
	tf.asset = &qm.Asset{ModelID: tf.model.ID, Serial: "SN-" + slug, Fields: map[string]any{tf.field.Key: "B-" + slug}}
	if err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).CreateAsset(tf.ctx, tf.asset); err != nil {
		t.Fatal(err)
	}
	tf.license, tf.seat = f.mustLicense(t, tf)
	var token string
	tf.device, token = f.mustDevice(t, tf.t)
	tf.deviceToken = principal{name: "device " + tf.device.Ident, bearer: token}
	tf.importJob = &qm.ImportJob{FileName: "old.csv", Options: qm.ImportOptions{DryRun: true}, Bytes: 10, Node: "gone"}
	jobs := dataplane.NewImportJobStore(f.e, f.e.Tenants(), time.Now)
	if err := jobs.StartImportJob(tf.ctx, tf.importJob); err != nil {
		t.Fatal(err)
	}
	tf.importJob.Status, tf.importJob.Report = qm.ImportDone, &qm.ImportReport{DryRun: true, Rows: 0, Problems: []qm.ImportProblem{}}
	if err := jobs.FinishImportJob(tf.ctx, tf.importJob); err != nil {
		t.Fatal(err)
	}
	tf.maintenance = f.mustMaintenance(t, tf)
	tf.geofence = f.mustGeofence(t, tf, "Depot")
	tf.channel = f.mustChannel(t, tf, "Hooks")
	if tf.rule, err = f.rules().CreateRule(tf.ctx, fixtureRule(tf)); err != nil {
		t.Fatal(err)
	}
	tf.alarmDevice, _ = f.mustDevice(t, tf.t)
	tf.alarm = f.mustAlarm(t, tf, tf.rule)
	evs, err := alerts.NewAlarmStore(f.e, time.Now).AlarmEvents(tf.ctx, tf.alarm.ID, 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("the alarm's events: %+v, %v", evs, err)
	}
	tf.event = evs[0]
	tf.department = &qm.Department{Name: "Logistics"}
	if err := dataplane.NewDepartmentStore(f.e, time.Now).CreateDepartment(tf.ctx, tf.department); err != nil {
		t.Fatal(err)
	}
	tf.invitation, tf.inviteSecret = f.mustInvitation(t, tf, "new@"+slug+".example", "viewer")
	f.mustUser(t, "reset@"+slug+".example", false)
	if tf.resetSecret, _, err = f.auth.IssueReset(ctx, "reset@"+slug+".example"); err != nil {
		t.Fatal(err)
	}
	return tf
}

// invitations returns the invitation service as the server has it.
func (f *fixture) invitations() *dataplane.InvitationStore {
	return dataplane.NewInvitationStore(f.e.Identity(), f.e, f.e.Tenants(), f.auth.HashPassword, "", time.Now)
}

// mustInvitation invites email to tf with role, as the system, and returns
// the invitation and its link's secret.
func (f *fixture) mustInvitation(t testing.TB, tf *tenantFixture, email, role string) (*qm.Invitation, string) {
	t.Helper()
	inv, err := f.invitations().Invite(tf.ctx, qm.NewInvitation{Email: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return inv, strings.TrimPrefix(inv.Link, "/invite/")
}

// mustMember makes an account with email and makes it a member of tf with
// role, through the system's own path, and signs it in.
func (f *fixture) mustMember(t testing.TB, tf *tenantFixture, email, role string) (*qm.User, principal) {
	t.Helper()
	u := f.mustUser(t, email, false)
	f.mustJoin(t, tf, u, role)
	return u, f.login(t, email)
}

// mustJoin makes u a member of tf with role, through the system's own path.
func (f *fixture) mustJoin(t testing.TB, tf *tenantFixture, u *qm.User, role string) {
	t.Helper()
	if err := f.e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: tf.t.ID, UserID: u.ID, Role: role}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) mustLocation(t testing.TB, tf *tenantFixture, name string) *qm.Location {
	t.Helper()
	l := &qm.Location{Name: name}
	if err := dataplane.NewLocationStore(f.e, time.Now).CreateLocation(tf.ctx, l); err != nil {
		t.Fatal(err)
	}
	return l
}

// do sends a request as p. A body is sent as JSON; a session's changes carry
// its CSRF token.
func (f *fixture) do(t testing.TB, p principal, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	return f.doType(t, p, method, path, body, "")
}

// doType is do with a content type other than JSON.
func (f *fixture) doType(t testing.TB, p principal, method, path, body, ctype string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, "http://qm.test"+path, strings.NewReader(body))
		if ctype == "" {
			ctype = "application/json"
		}
		r.Header.Set("Content-Type", ctype)
	} else {
		r = httptest.NewRequest(method, "http://qm.test"+path, nil)
	}
	r.RemoteAddr = "192.0.2.1:4242"
	if p.addr != "" {
		r.RemoteAddr = p.addr + ":4242"
	}
	if p.cookie != "" {
		r.AddCookie(&http.Cookie{Name: "qm_session", Value: p.cookie})
		r.Header.Set("X-CSRF-Token", p.csrf)
	}
	if p.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	checkResponse(t, r, w)
	return w
}

// snapshot is what a tenant holds, to check a refused request changed
// nothing.
func (f *fixture) snapshot(t testing.TB, tf *tenantFixture) string {
	t.Helper()
	ls, err := dataplane.NewLocationStore(f.e, time.Now).Locations(tf.ctx, qm.LocationFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := dataplane.NewTokenStore(f.e.Identity(), f.e, time.Now).Tokens(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every change is audited, so the newest entries show any change a
	// refused request made; reading them all would dominate the suite.
	log, err := dataplane.NewAuditStore(f.e).AuditLog(tf.ctx, qm.AuditFilter{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := f.e.Tenants().TenantByID(context.Background(), tf.t.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		tok.LastUsedAt = nil // using a token is not a change
	}
	depts, err := dataplane.NewDepartmentStore(f.e, time.Now).Departments(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	members, err := f.e.Identity().Members(context.Background(), tf.t.ID)
	if err != nil {
		t.Fatal(err)
	}
	invitations, err := f.e.Identity().OpenInvitations(context.Background(), tf.t.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := f.e.Identity().CustomRoles(context.Background(), tf.t.ID)
	if err != nil {
		t.Fatal(err)
	}
	models, err := dataplane.NewModelStore(f.e, time.Now).Models(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	assets, err := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now).Assets(tf.ctx, qm.AssetFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	licenses, err := dataplane.NewLicenseStore(f.e, f.e.Identity(), time.Now).Licenses(tf.ctx, qm.LicenseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	maint, err := dataplane.NewMaintenanceStore(f.e, time.Now).Maintenances(tf.ctx, tf.asset.ID)
	if err != nil && qm.ErrorCode(err) != qm.ENotFound {
		t.Fatal(err)
	}
	deps, err := dataplane.NewDepreciationStore(f.e, time.Now).Depreciations(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := telemetry.NewFleetStore(f.e, f.e.Devices(), time.Now).Devices(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := dataplane.NewFieldStore(f.e, time.Now).Fields(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := dataplane.NewFieldStore(f.e, time.Now).FieldSets(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := dataplane.NewImportJobStore(f.e, f.e.Tenants(), time.Now).ImportJobs(tf.ctx)
	if err != nil {
		t.Fatal(err)
	}
	state := []any{ls, toks, len(log), tn.State, tn.Plan, tn.Limits, depts, members, invitations, roles, models, assets, licenses, maint, deps, fleet, fields, sets, jobs}
	for _, list := range qm.ReferenceLists {
		rs, err := dataplane.NewReferenceStore(list, f.e, time.Now).List(tf.ctx)
		if err != nil {
			t.Fatal(err)
		}
		state = append(state, rs)
	}
	b, _ := json.Marshal(state)
	return string(b)
}

// mustLicense makes a license of 5 seats with one given to the fixture's
// asset.
func (f *fixture) mustLicense(t testing.TB, tf *tenantFixture) (*qm.License, *qm.Seat) {
	t.Helper()
	s := dataplane.NewLicenseStore(f.e, f.e.Identity(), time.Now)
	l := &qm.License{Name: fmt.Sprintf("Office %d", time.Now().UnixNano()), Seats: 5}
	if err := s.CreateLicense(tf.ctx, l); err != nil {
		t.Fatal(err)
	}
	seat, err := s.AssignSeat(tf.ctx, l.ID, qm.HolderAsset, tf.asset.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l, seat
}

// mustMaintenance records a repair of the fixture's asset.
func (f *fixture) mustMaintenance(t testing.TB, tf *tenantFixture) *qm.Maintenance {
	t.Helper()
	m := &qm.Maintenance{Kind: "repair", Title: "Fixture repair", StartedOn: "2026-01-01"}
	if err := dataplane.NewMaintenanceStore(f.e, time.Now).AddMaintenance(tf.ctx, tf.asset.ID, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// mustGeofence makes a circle of 200 m named name.
func (f *fixture) mustGeofence(t testing.TB, tf *tenantFixture, name string) *qm.Geofence {
	t.Helper()
	shape, err := qm.CircleShape(qm.Position{Lat: 52.52, Lon: 13.405}, 200)
	if err != nil {
		t.Fatal(err)
	}
	g := &qm.Geofence{Name: name, Shape: shape}
	if err := alerts.NewGeofenceStore(f.e, time.Now).CreateGeofence(tf.ctx, g); err != nil {
		t.Fatal(err)
	}
	return g
}

// channels returns the channel service as the server has it: webhooks
// only to public addresses.
func (f *fixture) channels() *alerts.ChannelStore {
	return alerts.NewChannelStore(f.e, func(ctx context.Context, u string) error { return webhook.CheckTarget(ctx, u, false) }, time.Now)
}

// mustChannel makes a webhook channel named name.
func (f *fixture) mustChannel(t testing.TB, tf *tenantFixture, name string) *qm.Channel {
	t.Helper()
	ch, _, err := f.channels().CreateChannel(tf.ctx, qm.ChannelDefinition{Name: name, Kind: qm.ChannelWebhook, Enabled: true, URL: "https://93.184.215.14/qm"})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// mustDeleted makes a tenant of tf's tier called slug, deletes it and
// returns its slug.
func (f *fixture) mustDeleted(t testing.TB, tf *tenantFixture, slug string) string {
	t.Helper()
	f.mustTenant(t, tf.t.Tier, slug)
	if _, err := f.e.Tenants().DeleteTenant(context.Background(), slug, time.Hour); err != nil {
		t.Fatal(err)
	}
	return slug
}

// dispatcher returns a dispatcher as the server has it, sending webhooks
// with hooks (nil: one that, like the server's, refuses private targets),
// and e-mail with mail (nil: none).
func (f *fixture) dispatcher(hooks *webhook.Client, mail *qmmail.Sender) *alerting.Dispatcher {
	if hooks == nil {
		hooks = webhook.NewClient(webhook.Options{})
	}
	return alerting.NewDispatcher(alerting.DispatchConfig{Outbox: alerts.NewOutboxStore(f.e), Tenants: f.e.Tenants(), Webhooks: hooks, Mail: mail,
		From: "alerts@qm.example", Now: time.Now, Log: quiet})
}

// rules returns the rule service as the server has it.
func (f *fixture) rules() *alerts.RuleStore {
	return alerts.NewRuleStore(f.e, telemetry.NewFleetStore(f.e, f.e.Devices(), time.Now), time.Now)
}

// mustAlarm raises rule r's alarm for the fixture's alarm device: just
// after r was defined, the device is 1 km north of the depot, fast, with
// the ignition on and its battery flat, and is evaluated. (A device of
// its own, so that these points, newer than the suite's, never hide the
// suite's from the other device's latest state.)
func (f *fixture) mustAlarm(t testing.TB, tf *tenantFixture, r *qm.Rule) *qm.Alarm {
	t.Helper()
	w := telemetry.NewPointWriter(f.e, time.Now, 0)
	defer w.Close()
	var pts []qm.Point
	for i := range 3 {
		speed := 150.0
		pts = append(pts, qm.Point{Time: r.UpdatedAt.Add(time.Duration(i+1) * time.Millisecond),
			Position: &qm.Position{Lat: 52.53 + float64(i)*0.001, Lon: 13.405, SpeedKMH: &speed},
			Metrics:  map[string]qm.Metric{"ignition": qm.BoolMetric(true), "battery_pct": qm.NumberMetric(1)}})
	}
	if _, err := w.Write(tf.ctx, tf.alarmDevice.ID, pts); err != nil {
		t.Fatal(err)
	}
	alarms := alerts.NewAlarmStore(f.e, time.Now)
	if _, err := alarms.EvaluateDevice(tf.ctx, tf.alarmDevice.ID); err != nil {
		t.Fatal(err)
	}
	as, err := alarms.Alarms(tf.ctx, qm.AlarmFilter{Open: true, SubjectID: tf.alarmDevice.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.RuleID == r.ID {
			return a
		}
	}
	t.Fatalf("rule %s raised no alarm for the device: open are %+v", r.Name, as)
	return nil
}

// disposableAlarm raises the alarm of a new rule, for a route that changes
// it.
func disposableAlarm(t *testing.T, f *fixture, tf *tenantFixture, action string) string {
	r, err := f.rules().CreateRule(tf.ctx, qm.RuleDefinition{Name: fmt.Sprintf("Flat %d", nextSlug()), Kind: qm.RuleBattery, Severity: qm.SeverityMinor,
		BatteryPct: 5, Enabled: true, DeviceIDs: []string{tf.alarmDevice.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return tenantPath("/alarms/" + f.mustAlarm(t, tf, r).ID + "/" + action)(tf)
}

// fixtureRule is the fixture's rule: a device leaves the depot.
func fixtureRule(tf *tenantFixture) qm.RuleDefinition {
	return qm.RuleDefinition{Name: "Leaves the depot", Kind: qm.RuleGeofence, Severity: qm.SeverityMajor, Enabled: true,
		GeofenceID: tf.geofence.ID, Trigger: "exit", ChannelIDs: []string{tf.channel.ID}}
}

// mustDepreciation makes a three-year schedule.
func (f *fixture) mustDepreciation(t testing.TB, tf *tenantFixture) *qm.Depreciation {
	t.Helper()
	d := &qm.Depreciation{Name: fmt.Sprintf("3 years %d", time.Now().UnixNano()), Months: 36}
	if err := dataplane.NewDepreciationStore(f.e, time.Now).CreateDepreciation(tf.ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// mustField makes a unique text field, and a field set holding it that is
// attached to the fixture's category.
func (f *fixture) mustField(t testing.TB, tf *tenantFixture) (*qm.CustomField, *qm.FieldSet) {
	t.Helper()
	s := dataplane.NewFieldStore(f.e, time.Now)
	n := time.Now().UnixNano()
	field := &qm.CustomField{Key: fmt.Sprintf("barcode_%d", n), Name: fmt.Sprintf("Barcode %d", n), Type: qm.FieldText, Unique: true}
	if err := s.CreateField(tf.ctx, field); err != nil {
		t.Fatal(err)
	}
	set := &qm.FieldSet{Name: fmt.Sprintf("Set %d", n), FieldIDs: []string{field.ID}, CategoryIDs: []string{tf.refs["categories"].ID}}
	if err := s.CreateFieldSet(tf.ctx, set); err != nil {
		t.Fatal(err)
	}
	return field, set
}

// waitImport waits until the import job at path is no longer running.
func (f *fixture) waitImport(t testing.TB, who principal, path string) *qm.ImportJob {
	t.Helper()
	var job qm.ImportJob
	poll.Until(t, "import job "+path+" ends", func() (bool, error) {
		res := f.do(t, who, "GET", path, "")
		if res.Code != http.StatusOK {
			return false, fmt.Errorf("GET %s: %d %s", path, res.Code, res.Body)
		}
		if err := json.Unmarshal(res.Body.Bytes(), &job); err != nil {
			return false, err
		}
		return job.Status != qm.ImportRunning, nil
	})
	return &job
}

// mustDevice registers a device, and assigns it to tn unless tn is nil.
// It returns the device and its credential.
func (f *fixture) mustDevice(t testing.TB, tn *qm.Tenant) (*qm.Device, string) {
	t.Helper()
	d := &qm.Device{Ident: fmt.Sprintf("imei-%d", nextSlug())}
	token, err := f.e.Devices().RegisterDevice(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if tn != nil {
		if _, _, err := f.e.Devices().AssignDevice(context.Background(), d.ID, tn); err != nil {
			t.Fatal(err)
		}
	}
	return d, token
}

// sendOsmAnd sends an OsmAnd request: a query (GET), a form (POST), or a
// JSON body (POST).
func (f *fixture) sendOsmAnd(method, target, ctype, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	f.osmand.ServeHTTP(w, r)
	return w
}

// linkSecret is the secret of the invitation link in a reply that made an
// invitation.
func linkSecret(res *httptest.ResponseRecorder) string {
	return between(res.Body.String(), `/invite/`, `"`)
}
