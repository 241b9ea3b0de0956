package qm

import (
	"context"
	"io"
	"time"
)

// TenantArchiver exports a whole tenant to a portable archive and imports
// one as a new tenant, on any engine and tier (ARCHITECTURE.md §10). The
// HTTP API calls it; cmd/quartermaster wires the storage's.
type TenantArchiver interface {
	// ExportTenant writes the tenant with the given slug to w as an
	// archive (an uncompressed tar), telling progress, when not nil, of
	// each table written. ENotFound; EConflict for a tenant still being
	// created. Operator only.
	ExportTenant(ctx context.Context, slug string, w io.Writer, progress func(ArchiveProgress)) error
	// ImportTenant creates a new tenant from the archive r reads (a tar,
	// gzipped or not), verified against its manifest before it becomes
	// active, and reports what became of its people, devices and
	// webhooks. EInvalid for an archive that is damaged, altered or too
	// new; the errors of creating a tenant for the slug, tier and server.
	// On any error nothing of the tenant is left. Operator only.
	ImportTenant(ctx context.Context, r io.Reader, opts TenantImport) (*Tenant, *TenantImportReport, error)
}

// TenantMover moves a whole tenant to another tier or server of the same
// engine while the server runs.
type TenantMover interface {
	// MoveTenant moves tenant slug where opts say, keeping its id, slug,
	// catalog and secrets, and returns it at its new place. opts.Begun,
	// when set, hears once the tenant is moving (served on while its data
	// is copied) and before anything is copied; opts.Progress of each
	// table copied; opts.Paused once its writes pause for the last pass
	// (not served: 503); opts.Switched once it is served from its new
	// place. It returns before Begun for a move refused: ENotFound; EInvalid (with
	// the field) for a tier or server the engine cannot host, or the
	// place the tenant is in; EConflict for a tenant not active or
	// suspended, or moving already. A move that fails later is rolled
	// back whole. Operator only.
	MoveTenant(ctx context.Context, slug string, opts TenantMove) (*Tenant, error)
}

// TenantMove says where a tenant moves, who moves it, and who hears of
// it.
type TenantMove struct {
	// Tier is the tier it moves to; Server the PostgreSQL server of a
	// silo (empty: the main one).
	Tier   Tier
	Server string
	// Holder names the mover in the move's lease.
	Holder string
	// Begun, when set, hears that the move has begun: the tenant at its
	// place and at the new one.
	Begun func(from, to *Tenant)
	// Progress, when set, hears of each table copied.
	Progress func(ArchiveProgress)
	// Paused, when set, hears that the tenant's writes are paused for the
	// last pass; Switched, that it is served from its new place, and how
	// long its writes were paused.
	Paused   func()
	Switched func(pause time.Duration)
}

// ArchiveProgress is one table of an archive exported or imported.
type ArchiveProgress struct {
	Table string `json:"table"`
	// N is the table's place among Total tables, from 1.
	N     int   `json:"n"`
	Total int   `json:"total"`
	Rows  int64 `json:"rows"`
}

// TenantImport says where an imported archive goes.
type TenantImport struct {
	// Slug is the new tenant's; required.
	Slug string `json:"slug"`
	// Name is the new tenant's display name; empty keeps the archive's.
	Name string `json:"name,omitempty"`
	// Tier is the new tenant's tier; empty keeps the archive's.
	Tier Tier `json:"tier,omitempty"`
	// Server is the PostgreSQL server of a silo tenant; empty is the main.
	Server string `json:"server,omitempty"`
}

// TenantImportReport says what an import did with what the catalog of the
// server it lands on could not take as it was.
type TenantImportReport struct {
	Tables []ImportedTable `json:"tables"`
	// Members are the archive's members who have an account here: members
	// again, with their role and department.
	Members []string `json:"members"`
	// Invited are the members with no account here and the archive's open
	// invitations: each has a new link, shown once.
	Invited []ArchiveInvitation `json:"invited"`
	// Devices are the devices the tenant held, each assigned with a new
	// credential or skipped, and why.
	Devices []ImportedDevice `json:"devices"`
	// Webhooks are the webhook channels, each with a new signing secret
	// (the archive holds none), shown once.
	Webhooks []ImportedWebhook `json:"webhooks"`
	// Notes are anything else the import changed, such as a plan this
	// server lacks.
	Notes []string `json:"notes"`
}

// ImportedTable is one table loaded by an import.
type ImportedTable struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// ArchiveInvitation is a person invited by an import of an archive.
type ArchiveInvitation struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	// Link is the path of the one-time link (InvitationPath), to go after
	// the server's public URL; the HTTP API and the CLI make it whole.
	Link string `json:"link"`
	// WasMember says the person was a member where the archive was made.
	WasMember bool `json:"was_member"`
}

// ImportedDevice is what an import did with one device.
type ImportedDevice struct {
	Ident string `json:"ident"`
	// Token is the device's new credential when it was assigned: shown
	// once, never stored.
	Token string `json:"token,omitempty"`
	// Skipped says why the device was not assigned.
	Skipped string `json:"skipped,omitempty"`
}

// ImportedWebhook is a webhook channel's new signing secret.
type ImportedWebhook struct {
	Channel string `json:"channel"`
	Secret  string `json:"secret"`
}
