// Package qm holds Quartermaster's domain: the types every other package
// speaks in (tenants, tiers, placements, locations), their validation, the
// application error type, and the interfaces that storage engines satisfy.
//
// It imports only the standard library. HTTP, SQL engines and the CLI depend
// on it, never the reverse.
package qm

import (
	"context"
	"fmt"
	"time"
)

// Tier is a tenant's isolation tier: where its data lives.
type Tier string

// The isolation tiers (ARCHITECTURE.md §2).
const (
	// TierPool keeps the tenant's rows in shared tables beside other
	// tenants', told apart by tenant_id (and, on PostgreSQL, row-level
	// security).
	TierPool Tier = "pool"
	// TierBridge gives the tenant its own schema in the shared database.
	TierBridge Tier = "bridge"
	// TierSilo gives the tenant a database (or SQLite file) of its own.
	TierSilo Tier = "silo"
)

// Tiers lists every tier, in order of increasing isolation.
var Tiers = []Tier{TierPool, TierBridge, TierSilo}

// ParseTier returns the tier named s, or an EInvalid error naming the tiers
// that exist.
func ParseTier(s string) (Tier, error) {
	for _, t := range Tiers {
		if string(t) == s {
			return t, nil
		}
	}
	return "", Errorf(EInvalid, "unknown tier %q: use pool, bridge or silo", s)
}

// Engine names a storage engine.
type Engine string

// The storage engines.
const (
	EngineSQLite   Engine = "sqlite"
	EnginePostgres Engine = "postgres"
)

// TenantState says whether a tenant is served.
type TenantState string

// Tenant states.
const (
	// StateProvisioning marks a tenant whose storage is being created. It is
	// never served; a failed provisioning removes the row.
	StateProvisioning TenantState = "provisioning"
	// StateActive is a tenant in service.
	StateActive TenantState = "active"
	// StateSuspended is a tenant whose data is kept but not served.
	StateSuspended TenantState = "suspended"
	// StateDeleting is a tenant deleted by the operator: not served, its
	// devices back in the inventory, purged at its DeleteAfter unless
	// restored before.
	StateDeleting TenantState = "deleting"
	// StateMoving is a tenant at the end of a move to another tier or
	// server (Moving), its writes paused while the last changes are
	// copied: not served for a moment (requests are answered 503 with
	// Retry-After), then served from its new place.
	StateMoving TenantState = "moving"
)

// MovingRetry is when a request to a tenant moving is asked to come back.
const MovingRetry = time.Second

// Moving is the answer to a request for tenant t while it moves:
// EUnavailable, to be tried again after MovingRetry.
func Moving(t *Tenant) error {
	return &Error{Code: EUnavailable, Message: fmt.Sprintf("tenant %s is moving to new storage: try again in a few seconds", t.Slug), RetryAfter: MovingRetry}
}

// DefaultDeleteGrace is how long a deleted tenant can be restored before
// it is purged, unless the operator says otherwise.
const DefaultDeleteGrace = 7 * 24 * time.Hour

// Placement says where a tenant's data lives. Location is engine and tier
// specific: a file path relative to the data directory for SQLite, a schema
// name for a PostgreSQL pool or bridge tenant, a database name for a
// PostgreSQL silo.
type Placement struct {
	Engine   Engine `json:"engine"`
	Server   string `json:"server"`
	Location string `json:"location"`
}

// Tenant is one organization sharing the server: the catalog's record of it.
type Tenant struct {
	ID            string      `json:"id"`
	Slug          string      `json:"slug"`
	Name          string      `json:"name"`
	Tier          Tier        `json:"tier"`
	Placement     Placement   `json:"placement"`
	State         TenantState `json:"state"`
	SchemaVersion int         `json:"schema_version"`
	CreatedAt     time.Time   `json:"created_at"`
	// DeleteAfter, for a tenant deleting, is when it is purged; DeletedBy
	// who deleted it.
	DeleteAfter *time.Time `json:"delete_after,omitempty"`
	DeletedBy   string     `json:"deleted_by,omitempty"`
	// Moving says a move is copying the tenant's data to another tier or
	// server; it is served meanwhile, but for a short pause of its
	// writes at the end (StateMoving).
	Moving bool `json:"moving,omitempty"`
	// Plan names the tenant's plan; Limits are the limits it works under
	// (its plan's, with its overrides), read with the tenant at the edge,
	// so every service enforces them from the scope.
	Plan   string    `json:"plan"`
	Limits Effective `json:"-"`
}

// TenantActivity is what the operator's list tells of a tenant beside its
// catalog record: how much it holds and when it last did anything.
type TenantActivity struct {
	// Members and Devices are counted in the catalog.
	Members int `json:"members"`
	Devices int `json:"devices"`
	// Assets and LastActivity (the time of the newest entry of the
	// tenant's audit log) are read from the tenant's data; they are absent
	// while the tenant's data is not served (a tenant not active, or at a
	// schema version this build does not know).
	Assets       *int       `json:"assets,omitempty"`
	LastActivity *time.Time `json:"last_activity,omitempty"`
	// DevicesOnline and DevicesOffline count the devices it holds that
	// reported within its offline minutes, and those that reported before
	// but not since (never-seen devices are neither); StoredPoints counts
	// the points it keeps. Read with Assets.
	DevicesOnline  *int   `json:"devices_online,omitempty"`
	DevicesOffline *int   `json:"devices_offline,omitempty"`
	StoredPoints   *int64 `json:"stored_points,omitempty"`
}

// NewTenant is what an operator supplies to create a tenant.
type NewTenant struct {
	Slug string
	Name string
	Tier Tier
	// Server names the database server for a PostgreSQL silo; empty means
	// the main server.
	Server string
}

// Validate checks the fields an operator typed, reporting every problem at
// once as an EInvalid error with per-field messages.
func (n NewTenant) Validate() error {
	fields := map[string]string{}
	if err := ValidateSlug(n.Slug); err != nil {
		fields["slug"] = ErrorMessage(err)
	}
	if n.Name == "" {
		fields["name"] = "name is required"
	} else if len(n.Name) > 200 {
		fields["name"] = "name is longer than 200 characters"
	}
	if _, err := ParseTier(string(n.Tier)); err != nil {
		fields["tier"] = ErrorMessage(err)
	}
	if n.Server != "" && n.Tier != TierSilo {
		fields["server"] = "a server can be chosen only for a silo tenant"
	}
	return fieldsError(fields)
}

// ValidateSlug reports whether s is a usable tenant slug: 3 to 63 lowercase
// letters, digits and hyphens, starting with a letter or digit and not ending
// with a hyphen.
func ValidateSlug(s string) error {
	if err := validateName(s, 3); err != nil {
		return Errorf(EInvalid, "slug %s", ErrorMessage(err))
	}
	return nil
}

// validateName checks a name used in paths: min to 63 lowercase letters,
// digits and inner hyphens.
func validateName(s string, min int) error {
	if len(s) < min || len(s) > 63 {
		return Errorf(EInvalid, "%q must be %d to 63 characters long", s, min)
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(s)-1:
		default:
			return Errorf(EInvalid, "%q may contain only lowercase letters, digits and inner hyphens", s)
		}
	}
	return nil
}

// TenantService is the catalog of tenants, and provisions their storage.
type TenantService interface {
	// CreateTenant validates n, creates the tenant's storage where its tier
	// says, and records it in the catalog. It returns EInvalid for bad input
	// or a tier the engine cannot host, and EConflict for a slug in use.
	// Provisioning is all or nothing: on any error nothing is left behind.
	// Operator only.
	CreateTenant(ctx context.Context, n NewTenant) (*Tenant, error)
	// Tenant returns the tenant with the given slug, or ENotFound.
	Tenant(ctx context.Context, slug string) (*Tenant, error)
	// TenantByID returns the tenant with the given id, or ENotFound.
	TenantByID(ctx context.Context, id string) (*Tenant, error)
	// Tenants lists every tenant, ordered by slug. Operator only.
	Tenants(ctx context.Context) ([]*Tenant, error)
	// SetState suspends or resumes the tenant with the given slug,
	// recording it in the tenant's audit log, and returns the tenant as it
	// now is. ENotFound; EInvalid for a state other than active or
	// suspended. Operator only.
	SetState(ctx context.Context, slug string, state TenantState) (*Tenant, error)
	// DeleteTenant deletes the tenant with the given slug: it stops being
	// served at once (members, tokens and device credentials refused), its
	// devices go back to the inventory, and it is purged after grace (0:
	// DefaultDeleteGrace) unless restored before. ENotFound; EConflict for
	// a tenant already deleting or still provisioning. Operator only.
	DeleteTenant(ctx context.Context, slug string, grace time.Duration) (*Tenant, error)
	// RestoreTenant brings a tenant deleting back into service, whole,
	// with the devices it held that are still in the inventory. ENotFound;
	// EConflict for a tenant not deleting. Operator only.
	RestoreTenant(ctx context.Context, slug string) (*Tenant, []string, error)
	// PurgeTenant purges a tenant deleting now, whatever its grace: every
	// row, schema, database or file of its data, its part of the catalog,
	// verified gone, leaving a tombstone. ENotFound; EConflict for a
	// tenant not deleting. Operator only.
	PurgeTenant(ctx context.Context, slug string) (*Tombstone, error)
	// Tombstones lists the tenants purged, newest first. Operator only.
	Tombstones(ctx context.Context) ([]*Tombstone, error)
	// Servers lists the servers tenants' data is kept on: the engine's
	// own and every PostgreSQL server it was started with, each with the
	// tenants it keeps and the bytes it holds. Operator only.
	Servers(ctx context.Context) ([]DataServer, error)
	// Activity says, for each of ts in order, how many members, devices
	// and assets it has and when its audit log last grew. Its work grows
	// with len(ts): callers pass a page. Operator only.
	Activity(ctx context.Context, ts []*Tenant) ([]TenantActivity, error)
	// BreakGlass gives the operator in ctx read-only access to the tenant
	// with the given slug for BreakGlassFor, recording it, with the
	// reason, in the tenant's audit log; it returns the tenant and when the
	// access ends. ENotFound; EInvalid without a reason. Operator only.
	BreakGlass(ctx context.Context, slug, reason string) (*Tenant, time.Time, error)
	// OperatorAudit lists the entries of the operator's audit log that f
	// selects: every action above that changes a tenant, and those of
	// PlanService and DeviceInventory, each written with its change.
	// EBadRequest for a cursor the log did not give. Operator only.
	OperatorAudit(ctx context.Context, f OperatorAuditFilter) ([]*OperatorAuditEntry, error)
	// CountOperatorAudit counts the entries f selects, on every page (the
	// cursor is ignored). Operator only.
	CountOperatorAudit(ctx context.Context, f OperatorAuditFilter) (int, error)
}

// GeneralSettings are a tenant's settings that are not of one part of the
// product: its time zone (an IANA name, such as "Europe/Berlin"), in which
// its rules' quiet hours are read.
type GeneralSettings struct {
	TimeZone string `json:"time_zone"`
}

// DefaultGeneralSettings are a new tenant's.
var DefaultGeneralSettings = GeneralSettings{TimeZone: "UTC"}

// Validate checks that the time zone is one the server knows. EInvalid.
func (s *GeneralSettings) Validate() error {
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "" || s.TimeZone == "Local" {
		return &Error{Code: EInvalid, Message: fmt.Sprintf("time zone %q is not an IANA time zone, such as Europe/Berlin", s.TimeZone),
			Fields: map[string]string{"time_zone": "unknown time zone"}}
	}
	return nil
}

// Location is the time zone, UTC when it cannot be read.
func (s *GeneralSettings) Location() *time.Location {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// SettingsService reads and changes a tenant's general settings. The
// tenant is taken from the context; a change is audited.
type SettingsService interface {
	// Settings returns the tenant's settings, the defaults when never set.
	Settings(ctx context.Context) (*GeneralSettings, error)
	// SetSettings changes them. EInvalid.
	SetSettings(ctx context.Context, s GeneralSettings) (*GeneralSettings, error)
}

// DataServer is a server tenants' data is kept on, as the operator sees
// it: its engine and name (the placements' Server), how many tenants it
// keeps (in every state), and the bytes its databases or files take,
// shared ones included.
type DataServer struct {
	Engine  Engine `json:"engine"`
	Name    string `json:"name"`
	Tenants int    `json:"tenants"`
	Bytes   int64  `json:"bytes"`
}

// Tombstone is what the catalog keeps of a tenant purged: who it was, who
// deleted it and when, what the purge removed, and whether nothing of it
// was found after.
type Tombstone struct {
	TenantID  string    `json:"tenant_id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Tier      Tier      `json:"tier"`
	Engine    Engine    `json:"engine"`
	DeletedAt time.Time `json:"deleted_at"`
	DeletedBy string    `json:"deleted_by"`
	PurgedAt  time.Time `json:"purged_at"`
	// Removed counts the rows removed from the catalog, by table (the
	// tenant's own data went with its storage, or by row from the pool:
	// counted there too, as "data").
	Removed map[string]int64 `json:"removed"`
	// Verified says nothing of the tenant was found after the purge: a
	// purge that finds something writes no tombstone, and is tried again.
	Verified bool `json:"verified"`
}
