// Package storetest is the conformance suite every storage engine runs, for
// every tier it hosts. Each test of a tenant-data method has a different
// tenant case: what tenant A wrote, tenant B can neither read, list, change
// nor delete, and B's attempts change nothing.
package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// Engine is an opened storage engine as the suite sees it.
type Engine interface {
	sqlstore.BatchRouter
	Tenants() *catalog.TenantService
	Identity() *catalog.Identity
	Devices() *catalog.DeviceStore
	LatestVersion() int
}

// Storage is one storage (a data directory, a database) for a test.
type Storage struct {
	// ID names the storage for OpenStorage: a directory, a database URL.
	ID string
	// Open opens the storage with the given tenant migrations (nil: the
	// embedded ones), runs Setup, and returns the engine with Setup's
	// error. Each call opens the same storage again; engines are closed
	// when the test ends.
	Open func(t *testing.T, migrations []schema.Migration) (Engine, error)
	// TenantPlaces lists the per-tenant places (files, schemas, databases)
	// that exist in the storage.
	TenantPlaces func(t *testing.T) []string
	// Exists reports whether a tenant's storage exists: its file, schema or
	// database, or for a pool tenant the shared place.
	Exists func(t *testing.T, tn *qm.Tenant) bool
}

// Harness is what the suite needs of an engine, for one tier.
type Harness struct {
	// Tier is the tier tenants are created in.
	Tier qm.Tier
	// NewStorage returns fresh, empty storage, removed when the test ends.
	NewStorage func(t *testing.T) Storage
	// OpenStorage returns the existing storage named id, and leaves it in
	// place when the test ends.
	OpenStorage func(t *testing.T, id string) Storage
	// Migrations are the engine's embedded tenant migrations.
	Migrations []schema.Migration
	// StallSQL is a statement that takes far longer than a test (a minute
	// or more), for a child process to be killed in.
	StallSQL string
	// Server, when set, names another server the engine keeps silo
	// tenants on (RunRemote): the move cases move tenants there and back.
	Server string

	// shared is the storage Run opens once for the cases that read and
	// write only their own tenants' data; nil outside Run.
	shared *sharedStorage
}

// sharedStorage is one engine opened on first use and closed when the
// test that made it (Run's) ends.
type sharedStorage struct {
	t    *testing.T
	once sync.Once
	e    Engine
	err  error
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	h.shared = &sharedStorage{t: t}
	t.Run("Tenants", func(t *testing.T) { TestTenants(t, h) })
	t.Run("Servers", func(t *testing.T) { TestServers(t, h) })
	t.Run("Plans", func(t *testing.T) { TestPlans(t, h) })
	t.Run("Limits", func(t *testing.T) { TestLimits(t, h) })
	t.Run("Usage", func(t *testing.T) { TestUsage(t, h) })
	t.Run("Locations", func(t *testing.T) { TestLocations(t, h) })
	t.Run("Departments", func(t *testing.T) { TestDepartments(t, h) })
	t.Run("Geofences", func(t *testing.T) { TestGeofences(t, h) })
	t.Run("Rules", func(t *testing.T) { TestRules(t, h) })
	t.Run("Alarms", func(t *testing.T) { TestAlarms(t, h) })
	t.Run("Channels", func(t *testing.T) { TestChannels(t, h) })
	t.Run("ScheduledRules", func(t *testing.T) { TestScheduledRules(t, h) })
	t.Run("DeleteTenant", func(t *testing.T) { TestDeleteTenant(t, h) })
	t.Run("OperatorAudit", func(t *testing.T) { TestOperatorAudit(t, h) })
	t.Run("MoveTenant", func(t *testing.T) { TestMoveTenant(t, h) })
	t.Run("MoveOnline", func(t *testing.T) { TestMoveOnline(t, h) })
	t.Run("MoveFenced", func(t *testing.T) { TestMoveFenced(t, h) })
	t.Run("MoveRecovered", func(t *testing.T) { TestMoveRecovered(t, h) })
	t.Run("CatalogChanges", func(t *testing.T) { TestCatalogChanges(t, h) })
	t.Run("PointNews", func(t *testing.T) { TestPointNews(t, h) })
	t.Run("ExportImport", func(t *testing.T) { TestExportImport(t, h) })
	t.Run("ImportRefused", func(t *testing.T) { TestImportRefused(t, h) })
	t.Run("ReferenceLists", func(t *testing.T) { TestReferenceLists(t, h) })
	t.Run("Models", func(t *testing.T) { TestModels(t, h) })
	t.Run("Assets", func(t *testing.T) { TestAssets(t, h) })
	t.Run("AssetSearch", func(t *testing.T) { TestAssetSearch(t, h) })
	t.Run("AssetFilters", func(t *testing.T) { TestAssetFilters(t, h) })
	t.Run("Import", func(t *testing.T) { TestImport(t, h) })
	t.Run("ImportJobs", func(t *testing.T) { TestImportJobs(t, h) })
	t.Run("Licenses", func(t *testing.T) { TestLicenses(t, h) })
	t.Run("Maintenances", func(t *testing.T) { TestMaintenances(t, h) })
	t.Run("Depreciations", func(t *testing.T) { TestDepreciations(t, h) })
	t.Run("CustomFields", func(t *testing.T) { TestCustomFields(t, h) })
	t.Run("Audit", func(t *testing.T) { TestAudit(t, h) })
	t.Run("UpdateEach", func(t *testing.T) { TestUpdateEach(t, h) })
	t.Run("Identity", func(t *testing.T) { TestIdentity(t, h) })
	t.Run("Invitations", func(t *testing.T) { TestInvitations(t, h) })
	t.Run("Devices", func(t *testing.T) { TestDevices(t, h) })
	t.Run("DeviceBulk", func(t *testing.T) { TestDeviceBulk(t, h) })
	t.Run("Fleet", func(t *testing.T) { TestFleet(t, h) })
	t.Run("FleetTransfer", func(t *testing.T) { TestFleetTransfer(t, h) })
	t.Run("Retention", func(t *testing.T) { TestRetention(t, h) })
	t.Run("Migrations", func(t *testing.T) { TestMigrations(t, h) })
}

// RunRemote runs the cases of an engine that keeps silo tenants on
// another server (Harness.Server): another engine's (a SQLite server's
// PostgreSQL, engines.Remote) or another cluster of its own. The moves
// there and back, and the life of a tenant kept there.
func RunRemote(t *testing.T, h Harness) {
	if h.Server == "" {
		t.Fatal("RunRemote needs Harness.Server")
	}
	h.shared = &sharedStorage{t: t}
	t.Run("MoveTenant", func(t *testing.T) { TestMoveTenant(t, h) })
	t.Run("MoveOnline", func(t *testing.T) { TestMoveOnline(t, h) })
	t.Run("MoveFenced", func(t *testing.T) { TestMoveFenced(t, h) })
	t.Run("MoveRecovered", func(t *testing.T) { TestMoveRecovered(t, h) })
	t.Run("RemoteTenants", func(t *testing.T) { TestRemoteTenants(t, h) })
}

// MustOpen returns storage with the embedded migrations for a case that
// touches only tenants it creates itself (under slugs no other case uses):
// within Run, every such case shares one storage per tier, so opening and
// migrating it is paid once rather than by each case.
func MustOpen(t *testing.T, h Harness) Engine {
	t.Helper()
	if h.shared == nil {
		return MustOpenEmpty(t, h)
	}
	s := h.shared
	s.once.Do(func() { s.e, s.err = h.NewStorage(s.t).Open(s.t, nil) })
	if s.err != nil {
		t.Fatalf("open: %v", s.err)
	}
	return s.e
}

// MustOpenEmpty opens fresh, empty storage with the embedded migrations,
// for a case that reads the whole catalog (every tenant, device, account
// or plan) or the storage's places.
func MustOpenEmpty(t *testing.T, h Harness) Engine {
	t.Helper()
	e, err := h.NewStorage(t).Open(t, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

// MustOpenNodes opens fresh storage twice, as two nodes serving it.
func MustOpenNodes(t *testing.T, h Harness) (a, b Engine) {
	t.Helper()
	st := h.NewStorage(t)
	var err error
	if a, err = st.Open(t, nil); err == nil {
		b, err = st.Open(t, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// MustTenant creates a tenant of the harness's tier and returns it with a
// context scoped to it.
func MustTenant(t testing.TB, e Engine, tier qm.Tier, slug string) (*qm.Tenant, context.Context) {
	t.Helper()
	tn, err := e.Tenants().CreateTenant(context.Background(), qm.NewTenant{Slug: slug, Name: "Tenant " + slug, Tier: tier})
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return tn, tenancy.WithTenant(context.Background(), tn)
}

// wantCode fails the test unless err carries the application error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := qm.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

// scoped returns a background context scoped to tn.
func scoped(tn *qm.Tenant) context.Context {
	return tenancy.WithTenant(context.Background(), tn)
}
