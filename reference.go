package qm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Reference is an entry of one of a tenant's reference lists: a category, a
// manufacturer, a supplier or a status label. Kind is what the list says of
// it: a category's kind (asset, license, accessory, consumable, component),
// a status label's kind (deployable, pending, undeployable, archived);
// manufacturers and suppliers have none.
type Reference struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReferenceList describes one reference list.
type ReferenceList struct {
	// Name is the list's name in paths and audit actions ("categories").
	Name string
	// Noun names one entry in messages ("category").
	Noun string
	// Kinds are the kinds an entry may have; nil means entries have none.
	Kinds []string
	// DefaultKind is the kind of an entry created without one.
	DefaultKind string
}

// The reference lists of every tenant.
var (
	Categories    = ReferenceList{Name: "categories", Noun: "category", Kinds: []string{"asset", "license", "accessory", "consumable", "component"}, DefaultKind: "asset"}
	Manufacturers = ReferenceList{Name: "manufacturers", Noun: "manufacturer"}
	Suppliers     = ReferenceList{Name: "suppliers", Noun: "supplier"}
	StatusLabels  = ReferenceList{Name: "status_labels", Noun: "status label", Kinds: []string{StatusDeployable, StatusPending, StatusUndeployable, StatusArchived}, DefaultKind: StatusDeployable}
)

// ReferenceLists lists them all.
var ReferenceLists = []ReferenceList{Categories, Manufacturers, Suppliers, StatusLabels}

// Status label kinds: only a deployable asset can be checked out.
const (
	StatusDeployable   = "deployable"
	StatusPending      = "pending"
	StatusUndeployable = "undeployable"
	StatusArchived     = "archived"
)

// DefaultStatusLabels are every new tenant's status labels.
var DefaultStatusLabels = []Reference{
	{Name: "Ready to deploy", Kind: StatusDeployable},
	{Name: "Pending", Kind: StatusPending},
	{Name: "Out for repair", Kind: StatusUndeployable},
	{Name: "Broken", Kind: StatusUndeployable},
	{Name: "Archived", Kind: StatusArchived},
}

// StatusKindFor is the kind of a status label made from its name alone, as
// an import makes the labels a file names: what is lost, stolen, broken or
// out for repair cannot be handed out; what waits (pending, diagnostics)
// is pending; what is kept for the record (archived, retired, disposed) is
// archived; anything else is deployable, as Snipe-IT makes them.
func StatusKindFor(name string) string {
	n := strings.ToLower(name)
	has := func(words ...string) bool {
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(n, w) })
	}
	switch {
	case has("undeployable", "not deployable", "lost", "stolen", "broken", "damaged", "defective", "fixable", "repair"):
		return StatusUndeployable
	case has("archiv", "retired", "disposed", "scrapped", "sold"):
		return StatusArchived
	case has("pending", "diagnos", "waiting", "on order", "in transit"):
		return StatusPending
	}
	return StatusDeployable
}

// Normalize trims the text fields and gives an entry without a kind the
// list's default.
func (l ReferenceList) Normalize(r *Reference) {
	r.Name, r.Kind, r.Notes = strings.TrimSpace(r.Name), strings.TrimSpace(r.Kind), strings.TrimSpace(r.Notes)
	if r.Kind == "" {
		r.Kind = l.DefaultKind
	}
}

// Validate checks an entry of the list.
func (l ReferenceList) Validate(r *Reference) error {
	fields := map[string]string{}
	switch {
	case r.Name == "":
		fields["name"] = "name is required"
	case len([]rune(r.Name)) > 200:
		fields["name"] = "name is longer than 200 characters"
	}
	if len([]rune(r.Notes)) > 10000 {
		fields["notes"] = "notes are longer than 10000 characters"
	}
	switch {
	case l.Kinds == nil && r.Kind != "":
		fields["kind"] = l.Noun + " entries have no kind"
	case l.Kinds != nil && !slices.Contains(l.Kinds, r.Kind):
		fields["kind"] = "kind must be one of " + strings.Join(l.Kinds, ", ")
	}
	return fieldsError(fields)
}

// ReferenceUpdate holds the fields to change; nil leaves a field as it is.
type ReferenceUpdate struct {
	Name  *string `json:"name"`
	Kind  *string `json:"kind"`
	Notes *string `json:"notes"`
}

// ReferenceService manages one reference list of the tenant in scope. An
// entry of another tenant is ENotFound.
type ReferenceService interface {
	// Create stores r. EInvalid; EConflict when the name is taken.
	Create(ctx context.Context, r *Reference) error
	// Get returns one entry. ENotFound.
	Get(ctx context.Context, id string) (*Reference, error)
	// List returns every entry by name.
	List(ctx context.Context) ([]*Reference, error)
	// Update changes an entry. ENotFound, EInvalid, EConflict.
	Update(ctx context.Context, id string, u ReferenceUpdate) (*Reference, error)
	// Delete removes an entry. ENotFound; EConflict while something uses it.
	Delete(ctx context.Context, id string) error
}
