package qm

import (
	"context"
	"strings"
	"time"
)

// Model is a kind of asset a manufacturer makes: "Latitude 5440".
type Model struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	ModelNumber    string `json:"model_number,omitempty"`
	CategoryID     string `json:"category_id"`
	ManufacturerID string `json:"manufacturer_id,omitempty"`
	DepreciationID string `json:"depreciation_id,omitempty"`
	// FieldSetID names the custom fields the model's assets have.
	FieldSetID string    `json:"field_set_id,omitempty"`
	Notes      string    `json:"notes,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Normalize trims the text fields.
func (m *Model) Normalize() {
	for _, f := range []*string{&m.Name, &m.ModelNumber, &m.CategoryID, &m.ManufacturerID, &m.DepreciationID, &m.FieldSetID, &m.Notes} {
		*f = strings.TrimSpace(*f)
	}
}

// Validate checks a model's own fields; references are checked by the store.
func (m *Model) Validate() error {
	fields := map[string]string{}
	if m.Name == "" || len([]rune(m.Name)) > 200 {
		fields["name"] = "name is required, at most 200 characters"
	}
	if len(m.ModelNumber) > 200 {
		fields["model_number"] = "model number is longer than 200 characters"
	}
	if m.CategoryID == "" {
		fields["category_id"] = "category is required"
	}
	return fieldsError(fields)
}

// ModelUpdate holds the fields to change; nil leaves a field as it is.
type ModelUpdate struct {
	Name           *string `json:"name"`
	ModelNumber    *string `json:"model_number"`
	CategoryID     *string `json:"category_id"`
	ManufacturerID *string `json:"manufacturer_id"`
	DepreciationID *string `json:"depreciation_id"`
	FieldSetID     *string `json:"field_set_id"`
	Notes          *string `json:"notes"`
}

// ModelService manages the models of the tenant in scope.
type ModelService interface {
	// CreateModel stores m. EInvalid (also for an unknown category or
	// manufacturer), EConflict for a taken name and model number.
	CreateModel(ctx context.Context, m *Model) error
	// Model returns one model. ENotFound.
	Model(ctx context.Context, id string) (*Model, error)
	// Models lists every model by name.
	Models(ctx context.Context) ([]*Model, error)
	// UpdateModel changes a model. ENotFound, EInvalid, EConflict.
	UpdateModel(ctx context.Context, id string, u ModelUpdate) (*Model, error)
	// DeleteModel removes a model. ENotFound; EConflict while assets use it.
	DeleteModel(ctx context.Context, id string) error
}

// Asset is one thing a tenant owns and tracks: a laptop, a server, a phone,
// a vehicle.
type Asset struct {
	ID             string `json:"id"`
	Tag            string `json:"tag"`
	Name           string `json:"name,omitempty"`
	Serial         string `json:"serial,omitempty"`
	ModelID        string `json:"model_id"`
	StatusID       string `json:"status_id"`
	LocationID     string `json:"location_id,omitempty"`
	DepartmentID   string `json:"department_id,omitempty"`
	SupplierID     string `json:"supplier_id,omitempty"`
	PurchaseDate   string `json:"purchase_date,omitempty"` // YYYY-MM-DD
	CostCents      *int64 `json:"cost_cents,omitempty"`
	Currency       string `json:"currency,omitempty"`
	OrderNumber    string `json:"order_number,omitempty"`
	WarrantyMonths *int   `json:"warranty_months,omitempty"`
	Notes          string `json:"notes,omitempty"`
	// Holder is who or what has the asset checked out; empty when in.
	HolderType     string     `json:"holder_type,omitempty"`
	HolderID       string     `json:"holder_id,omitempty"`
	CheckedOutAt   *time.Time `json:"checked_out_at,omitempty"`
	ExpectedReturn string     `json:"expected_return,omitempty"` // YYYY-MM-DD
	// Fields are the asset's custom field values by field key: strings,
	// numbers, booleans, dates as YYYY-MM-DD, lists for multichoice fields.
	Fields    map[string]any `json:"fields,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// Derived by the asset service when it reads an asset (see Derive):
	// the last day of the warranty (YYYY-MM-DD), and what the asset is
	// worth today by its model's depreciation schedule, in cents.
	WarrantyEnds   string `json:"warranty_end,omitempty"`
	BookValueCents *int64 `json:"book_value_cents,omitempty"`
}

// Derive fills in the values that follow from the others on day: the
// warranty's end, and the book value under a depreciation schedule of
// months (0: none).
func (a *Asset) Derive(months int, day time.Time) {
	a.WarrantyEnds = a.WarrantyEnd()
	a.BookValueCents = BookValue(a.CostCents, a.PurchaseDate, months, day)
}

// Kinds of holder an asset can be checked out to.
const (
	HolderUser     = "user"
	HolderLocation = "location"
	HolderAsset    = "asset"
)

// CheckOut says to whom or what an asset goes.
type CheckOut struct {
	HolderType     string `json:"holder_type"`
	HolderID       string `json:"holder_id"`
	ExpectedReturn string `json:"expected_return"`
	Note           string `json:"note"`
}

// Validate checks the fields.
func (c CheckOut) Validate() error {
	fields := map[string]string{}
	switch c.HolderType {
	case HolderUser, HolderLocation, HolderAsset:
	default:
		fields["holder_type"] = "holder_type must be user, location or asset"
	}
	if c.HolderID == "" {
		fields["holder_id"] = "holder_id is required"
	}
	checkDate(fields, "expected_return", "expected return", c.ExpectedReturn)
	if len([]rune(c.Note)) > 2000 {
		fields["note"] = "note is longer than 2000 characters"
	}
	return fieldsError(fields)
}

// CheckIn says where a returned asset goes.
type CheckIn struct {
	// LocationID, when set, becomes the asset's location.
	LocationID string `json:"location_id"`
	Note       string `json:"note"`
}

// WarrantyEnd is the last day of the warranty, "" when unknown.
func (a *Asset) WarrantyEnd() string {
	if a.PurchaseDate == "" || a.WarrantyMonths == nil {
		return ""
	}
	d, err := ParseDate(a.PurchaseDate)
	if err != nil {
		return "" // stored before dates were bounded
	}
	return d.AddDate(0, *a.WarrantyMonths, -1).Format(time.DateOnly)
}

// Normalize trims the text fields and upper-cases the currency.
func (a *Asset) Normalize() {
	for _, f := range []*string{&a.Tag, &a.Name, &a.Serial, &a.ModelID, &a.StatusID, &a.LocationID, &a.DepartmentID,
		&a.SupplierID, &a.PurchaseDate, &a.Currency, &a.OrderNumber, &a.Notes} {
		*f = strings.TrimSpace(*f)
	}
	a.Currency = strings.ToUpper(a.Currency)
}

// Validate checks an asset's own fields, reporting every problem at once;
// references are checked by the store.
func (a *Asset) Validate() error {
	fields := map[string]string{}
	if len(a.Tag) > 100 {
		fields["tag"] = "tag is longer than 100 characters"
	}
	for name, v := range map[string]string{"name": a.Name, "serial": a.Serial, "order_number": a.OrderNumber} {
		if len([]rune(v)) > 200 {
			fields[name] = name + " is longer than 200 characters"
		}
	}
	if a.ModelID == "" {
		fields["model_id"] = "model is required"
	}
	checkDate(fields, "purchase_date", "purchase date", a.PurchaseDate)
	checkCents(fields, "cost_cents", a.CostCents)
	if a.Currency != "" && (len(a.Currency) != 3 || strings.Trim(a.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		fields["currency"] = "currency must be a three-letter ISO 4217 code"
	}
	if a.WarrantyMonths != nil {
		checkMonths(fields, "warranty_months", "warranty months", *a.WarrantyMonths, 0)
	}
	if len([]rune(a.Notes)) > 10000 {
		fields["notes"] = "notes are longer than 10000 characters"
	}
	return fieldsError(fields)
}

// AssetUpdate holds the fields to change; nil leaves a field as it is.
type AssetUpdate struct {
	Tag            *string `json:"tag"`
	Name           *string `json:"name"`
	Serial         *string `json:"serial"`
	ModelID        *string `json:"model_id"`
	StatusID       *string `json:"status_id"`
	LocationID     *string `json:"location_id"`
	DepartmentID   *string `json:"department_id"`
	SupplierID     *string `json:"supplier_id"`
	PurchaseDate   *string `json:"purchase_date"`
	CostCents      *int64  `json:"cost_cents"`
	Currency       *string `json:"currency"`
	OrderNumber    *string `json:"order_number"`
	WarrantyMonths *int    `json:"warranty_months"`
	Notes          *string `json:"notes"`
	// Fields sets the custom fields it names, by key; null clears one.
	Fields map[string]any `json:"fields"`
}

// TagNumbering is how a tenant numbers the assets created without a tag:
// Prefix, then Next as at least six digits ("ASSET-000042").
type TagNumbering struct {
	Prefix string `json:"prefix"`
	Next   int64  `json:"next"`
}

// Validate checks the fields.
func (n *TagNumbering) Validate() error {
	fields := map[string]string{}
	if len(n.Prefix) > 20 || strings.ContainsFunc(n.Prefix, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./#", r))
	}) {
		fields["prefix"] = "prefix is at most 20 letters, digits and - _ . / #"
	}
	if n.Next < 1 || n.Next > 1e12 {
		fields["next"] = "next must be between 1 and 1000000000000"
	}
	return fieldsError(fields)
}

// AssetSorts are the columns a list of assets may be sorted by.
var AssetSorts = []string{"tag", "name", "serial", "created_at", "updated_at"}

// AssetFilter narrows and orders a list of assets.
type AssetFilter struct {
	// Q searches tag, name, serial, notes and the model's name.
	Q            string
	StatusID     string
	ModelID      string
	CategoryID   string
	LocationID   string
	DepartmentID string
	// Fields keeps the assets whose custom field (by key) has the value,
	// written as text; a multichoice field matches when the choice is one
	// of its values.
	Fields map[string]string
	// ManufacturerID is the manufacturer of the asset's model.
	ManufacturerID string
	// HolderType (HolderUser, HolderLocation, HolderAsset) lists only assets
	// checked out to that kind of holder; HolderID, which needs it, only
	// those checked out to that one.
	HolderType string
	HolderID   string
	// WarrantyBefore (YYYY-MM-DD) lists only assets whose warranty ends
	// (Asset.WarrantyEnd) before that day; assets without an end are left
	// out.
	WarrantyBefore string
	// Sort is one of AssetSorts, "-" in front for descending; default tag.
	Sort string
	// After is the cursor a previous page returned.
	After string
	// Limit: 0 means 50; more than 500 is cut to 500.
	Limit int
}

// AssetPage is one page of a list of assets.
type AssetPage struct {
	Assets []*Asset `json:"assets"`
	// Total counts every asset the filter matches, on all pages.
	Total int `json:"total"`
	// Next is the cursor of the next page, "" on the last.
	Next string `json:"next,omitempty"`
}

// AssetService manages the assets of the tenant in scope. A user confined
// to a department sees and changes only the assets of that department and
// its descendants; others are ENotFound to it. The assets it returns have
// their derived values (Asset.Derive).
type AssetService interface {
	// CreateAsset stores a; an empty tag gets the tenant's next number.
	// EInvalid (also for unknown references), EConflict for a taken tag.
	CreateAsset(ctx context.Context, a *Asset) error
	// Asset returns one asset. ENotFound.
	Asset(ctx context.Context, id string) (*Asset, error)
	// Assets lists a page of assets. EBadRequest for a bad sort, cursor,
	// date or holder type.
	Assets(ctx context.Context, f AssetFilter) (*AssetPage, error)
	// UpdateAsset changes an asset. ENotFound, EInvalid, EConflict.
	UpdateAsset(ctx context.Context, id string, u AssetUpdate) (*Asset, error)
	// DeleteAsset removes an asset. ENotFound.
	DeleteAsset(ctx context.Context, id string) error
	// CheckOut hands an asset to a user of the tenant, a location or
	// another asset. ENotFound; EInvalid for a bad or unknown holder;
	// EConflict when it is already out or its status is not deployable.
	CheckOut(ctx context.Context, id string, co CheckOut) (*Asset, error)
	// CheckIn takes an asset back. ENotFound; EConflict when it is not out.
	CheckIn(ctx context.Context, id string, ci CheckIn) (*Asset, error)
	// History lists what happened to an asset, newest first, from the
	// audit log. ENotFound.
	History(ctx context.Context, id string) ([]*AuditEntry, error)
	// TagNumbering says how the next automatic tag is made.
	TagNumbering(ctx context.Context) (*TagNumbering, error)
	// SetTagNumbering changes it; a number already taken is skipped when
	// tags are made. EInvalid. For tenant admins (settings:manage).
	SetTagNumbering(ctx context.Context, n TagNumbering) (*TagNumbering, error)
	// Import reads rows from next until io.EOF and creates or updates (by
	// tag) the tenant's assets, in one transaction, with the rules every
	// other method applies; see ImportOptions.
	Import(ctx context.Context, next func() (*ImportRow, error), opts ImportOptions) (*ImportReport, error)
}

// ImportRow is one asset read from an import file: the asset's own fields,
// and its references by name, to be found (or made) in the tenant.
type ImportRow struct {
	Line         int
	Asset        Asset
	Model        string
	ModelNumber  string
	ModelNotes   string
	Category     string
	Manufacturer string
	Status       string
	Location     string
	Department   string
	Supplier     string
	// Fields are the row's values of columns that are not the asset's own,
	// by column name: custom fields, when a field has that name or key.
	Fields map[string]string
	// HolderType and HolderName say who or what has the asset checked out:
	// a user by email (or user name), a location by name, an asset by tag.
	HolderType, HolderName string
	// Errors are what is wrong with the row, already known when reading.
	Errors []string
}

// ImportOptions say how to import.
type ImportOptions struct {
	// DryRun reports what would happen and changes nothing.
	DryRun bool `json:"dry_run"`
	// SkipBadRows imports the good rows when some are bad; otherwise one
	// bad row means nothing is imported.
	SkipBadRows bool `json:"skip_bad_rows"`
	// CompanyAsDepartment reads Snipe-IT's Company column as the asset's
	// department (made if missing); otherwise the column is ignored.
	CompanyAsDepartment bool `json:"company_as_department"`
	// Encoding names the file's character encoding when it is not UTF-8
	// (windows-1252, macintosh, iso-8859-1…): the file is transcoded.
	Encoding string `json:"encoding,omitempty"`
	// DateFormat gives the order of day, month and year in dates written
	// with numbers only (DD/MM/YYYY, MM/DD/YY, …); without it, each date
	// column's order is inferred from all its values.
	DateFormat string `json:"date_format,omitempty"`
	// InviteMissingUsers invites each person the file checks assets out
	// to who is not a member, by email, once the import commits: their
	// assets are checked out to them when they accept. It needs the
	// permission to manage users, and a role to offer that the importer's
	// covers.
	InviteMissingUsers bool `json:"invite_missing_users,omitempty"`
	// InviteRole is the role those invitations offer (DefaultInviteRole).
	InviteRole string `json:"invite_role,omitempty"`
}

// DefaultInviteRole is the role an import's invitations offer unless told
// otherwise: the least, reading.
const DefaultInviteRole = "viewer"

// ImportInvitation is an invitation an import made to a person it checks
// assets out to who is not a member: or, when the import did not commit
// (a dry run), would make.
type ImportInvitation struct {
	Email string `json:"email"`
	// Lines are the first 100 lines whose assets are checked out to them
	// once they accept; Assets counts them all.
	Lines  []int `json:"lines"`
	Assets int   `json:"assets"`
	// Link is the invitation's one-time link, shown in this report only.
	Link string `json:"link,omitempty"`
	// Error says why no invitation could be made: the assets stay
	// unassigned.
	Error string `json:"error,omitempty"`
}

// ImportHolder is a person a file checks assets out to who is not a member
// of the tenant: the assets of the lines listed are imported unassigned.
type ImportHolder struct {
	// Name is the email (or user name) the file gives.
	Name string `json:"name"`
	// Lines are the first 100 lines that name them; Rows counts them all.
	Lines []int `json:"lines"`
	Rows  int   `json:"rows"`
}

// ImportProblem is one bad row.
type ImportProblem struct {
	Line   int      `json:"line"`
	Tag    string   `json:"tag,omitempty"`
	Errors []string `json:"errors"`
}

// ImportChange is what one row of an import did: "create" or "update" the
// asset with the tag.
type ImportChange struct {
	Line   int    `json:"line"`
	Tag    string `json:"tag"`
	Action string `json:"action"`
}

// ImportReport says what an import did, or would do.
type ImportReport struct {
	DryRun   bool            `json:"dry_run"`
	Rows     int             `json:"rows"`
	Created  int             `json:"created"`
	Updated  int             `json:"updated"`
	Failed   int             `json:"failed"`
	Made     map[string]int  `json:"made,omitempty"` // reference entries made, by list
	Problems []ImportProblem `json:"problems"`
	// Changes say what each good row did (or, in a dry run, would do), in
	// the order of the file; the first 10,000.
	Changes []ImportChange `json:"changes,omitempty"`
	// Committed is whether anything was written.
	Committed bool     `json:"committed"`
	Warnings  []string `json:"warnings,omitempty"`
	// IgnoredColumns are the columns with values that were not imported.
	IgnoredColumns []string `json:"ignored_columns,omitempty"`
	// Unassigned are the people the file checks assets out to who are not
	// members of the tenant (the first 1,000).
	Unassigned []ImportHolder `json:"unassigned,omitempty"`
	// Invitations are the invitations made (or, when nothing was
	// committed, that would be made) with InviteMissingUsers.
	Invitations []ImportInvitation `json:"invitations,omitempty"`
	// LimitReached, when a cap of the tenant's plan refused rows, names
	// the first; their lines are among the problems.
	LimitReached *LimitReached `json:"limit_reached,omitempty"`
}

// The states of an import job.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportJob is an import of a file running, or run, in the background.
type ImportJob struct {
	ID       string        `json:"id"`
	Status   string        `json:"status"`
	FileName string        `json:"file_name,omitempty"`
	Options  ImportOptions `json:"options"`
	// Bytes is the file's size; BytesRead and RowsRead say how far a
	// running job has come.
	Bytes     int64 `json:"bytes"`
	BytesRead int64 `json:"bytes_read"`
	RowsRead  int   `json:"rows_read"`
	// Report is what the import did, once it is done.
	Report *ImportReport `json:"report,omitempty"`
	// Error says why a failed job failed.
	Error string `json:"error,omitempty"`
	// Node is the server process running the job.
	Node       string     `json:"-"`
	CreatedBy  string     `json:"created_by,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}
