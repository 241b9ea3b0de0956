// Package lifecycle exports a whole tenant to a portable archive and
// imports one as a new tenant, on any engine and tier (ARCHITECTURE.md
// §10).
//
// An archive is a tar (gzipped or not: Import tells by its first bytes)
// holding, in this order:
//
//   - header.json: the format and schema versions, where the tenant came
//     from, and the columns of each table, so an import refuses what it
//     cannot read before it writes anything;
//   - catalog/*: the tenant's part of the catalog (its record, plan and
//     overrides, custom roles, members by e-mail, open invitations, the
//     devices it holds or held), without a secret or a hash of one;
//   - tables/NAME.jsonl: each table of schema.TenantTables, the tenant's
//     rows in the order of the table's key, one JSON array a line, values
//     in the form of their column's Kind;
//   - manifest.json: the header again, with each file's rows, bytes and
//     SHA-256, written last because a stream knows them only at its end.
//
// Both directions stream: a table is read through one cursor and written
// a row at a time (spooled through a temporary file, since a tar entry
// states its size before its content), and an import inserts rows in
// batches as it reads them. Ids of rows stay what they were; the imported
// tenant gets a new tenant id.
package lifecycle

import (
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/engines"
)

// FormatVersion is the version of the archive format this build writes,
// and the newest it reads.
const FormatVersion = 1

// Engine is what export and import need of an opened storage engine.
type Engine interface {
	engines.Engine
	// LatestVersion is the newest tenant schema version the engine knows.
	LatestVersion() int
}

// Manifest describes an archive: what it came from and each file in it.
type Manifest struct {
	Format        int       `json:"format"`
	SchemaVersion int       `json:"schema_version"`
	Engine        qm.Engine `json:"engine"`
	Tier          qm.Tier   `json:"tier"`
	TenantID      string    `json:"tenant_id"`
	Slug          string    `json:"slug"`
	CreatedAt     time.Time `json:"created_at"`
	Files         []File    `json:"files"`
}

// File is one file of an archive. In the header only Name, Table and
// Columns are set.
type File struct {
	Name    string   `json:"name"`
	Table   string   `json:"table,omitempty"`
	Columns []Column `json:"columns,omitempty"`
	// Rows counts the lines of a JSON Lines file (1 for a JSON file).
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// File returns the file called name, nil if there is none.
func (m *Manifest) File(name string) *File {
	for i := range m.Files {
		if m.Files[i].Name == name {
			return &m.Files[i]
		}
	}
	return nil
}

// Names of the files of an archive.
const (
	headerFile      = "header.json"
	manifestFile    = "manifest.json"
	tenantFile      = "catalog/tenant.json"
	rolesFile       = "catalog/roles.jsonl"
	membersFile     = "catalog/members.jsonl"
	invitationsFile = "catalog/invitations.jsonl"
	devicesFile     = "catalog/devices.jsonl"
)

// tableFile is the name of a table's file.
func tableFile(name string) string { return "tables/" + name + ".jsonl" }

// selfRef stands for the tenant's own id where its data names it outside
// a key (an audit entry about the tenant), so an archive does not depend
// on the id, and an import names the new tenant there.
const selfRef = "@tenant"

// TenantRecord is the tenant's catalog record in an archive.
type TenantRecord struct {
	Slug string  `json:"slug"`
	Name string  `json:"name"`
	Tier qm.Tier `json:"tier"`
	Plan string  `json:"plan"`
	// Overrides are the limits that differ from the plan's (qm.LimitSet).
	Overrides qm.LimitSet `json:"overrides"`
}

// RoleRecord is a custom role of the tenant.
type RoleRecord struct {
	Name        string          `json:"name"`
	Permissions []qm.Permission `json:"permissions"`
}

// MemberRecord is a member of the tenant, by e-mail. UserID is the
// account's id where the archive was made, so an import can rename what
// the data says of it when the account has another id where it lands.
type MemberRecord struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	UserID       string `json:"user_id"`
	Role         string `json:"role"`
	DepartmentID string `json:"department_id,omitempty"`
}

// InvitationRecord is an open invitation of the tenant, without its
// secret: an import makes a new link.
type InvitationRecord struct {
	Email        string   `json:"email"`
	Role         string   `json:"role"`
	DepartmentID string   `json:"department_id,omitempty"`
	InvitedBy    string   `json:"invited_by"`
	CheckOut     []string `json:"check_out,omitempty"`
}

// DeviceRecord is a device the tenant holds or held, without its
// credential, with the tenant's custody of it.
type DeviceRecord struct {
	ID        string       `json:"id"`
	Ident     string       `json:"ident"`
	Serial    string       `json:"serial,omitempty"`
	Kind      string       `json:"kind"`
	Model     string       `json:"model,omitempty"`
	Firmware  string       `json:"firmware,omitempty"`
	Notes     string       `json:"notes,omitempty"`
	IdentOnly bool         `json:"ident_only"`
	Held      bool         `json:"held"`
	Custody   []qm.Custody `json:"custody"`
}

// Progress reports one table exported or imported.
type Progress = qm.ArchiveProgress

// ExportOptions tune Export.
type ExportOptions struct {
	// Progress, when set, hears of each table written.
	Progress func(Progress)
	// move marks a move's copy, which never leaves the process: the
	// webhooks' secrets stay in it, for the tenant keeps its channels.
	move bool
	// tables, for a move, are the tables to copy (nil: all); since, for
	// its last pass, limits the growing tables to the rows written since.
	tables []string
	since  time.Time
}

// ImportOptions say where an archive goes.
type ImportOptions struct {
	// Slug is the new tenant's; required.
	Slug string
	// Name is the new tenant's display name; empty keeps the archive's.
	Name string
	// Tier is the new tenant's tier; empty keeps the archive's.
	Tier qm.Tier
	// Server is the PostgreSQL server of a silo tenant; empty is the main.
	Server string
	// Progress, when set, hears of each table loaded.
	Progress func(Progress)
}

// The report of an import is the domain's, so the HTTP API can answer it
// without knowing this package.
type (
	// ImportReport says what an import did with what the catalog of the
	// server it lands on could not take as it was.
	ImportReport = qm.TenantImportReport
	// TableReport is one table loaded.
	TableReport = qm.ImportedTable
	// Invited is a person invited by an import.
	Invited = qm.ArchiveInvitation
	// DeviceOutcome is what an import did with one device.
	DeviceOutcome = qm.ImportedDevice
	// WebhookSecret is a webhook channel's new signing secret.
	WebhookSecret = qm.ImportedWebhook
)
