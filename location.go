package qm

import (
	"context"
	"strings"
	"time"
)

// Location is a place where assets are kept: a site, a building, a room.
// Locations form a tree through ParentID.
type Location struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parent_id,omitempty"`
	Address   string    `json:"address,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits on location fields, in characters.
const (
	MaxLocationName    = 200
	MaxLocationAddress = 1000
	MaxLocationNotes   = 10000
)

// Normalize trims surrounding white space from the text fields.
func (l *Location) Normalize() {
	l.Name = strings.TrimSpace(l.Name)
	l.ParentID = strings.TrimSpace(l.ParentID)
	l.Address = strings.TrimSpace(l.Address)
	l.Notes = strings.TrimSpace(l.Notes)
}

// Validate checks a location's fields, reporting every problem at once.
func (l *Location) Validate() error {
	fields := map[string]string{}
	switch {
	case l.Name == "":
		fields["name"] = "name is required"
	case len([]rune(l.Name)) > MaxLocationName:
		fields["name"] = "name is longer than 200 characters"
	}
	if len([]rune(l.Address)) > MaxLocationAddress {
		fields["address"] = "address is longer than 1000 characters"
	}
	if len([]rune(l.Notes)) > MaxLocationNotes {
		fields["notes"] = "notes are longer than 10000 characters"
	}
	if l.ParentID != "" && l.ParentID == l.ID {
		fields["parent_id"] = "a location cannot be its own parent"
	}
	return fieldsError(fields)
}

// LocationUpdate holds the fields to change; nil leaves a field as it is. An
// empty ParentID moves the location to the top level.
type LocationUpdate struct {
	Name     *string `json:"name"`
	ParentID *string `json:"parent_id"`
	Address  *string `json:"address"`
	Notes    *string `json:"notes"`
}

// Apply copies the set fields of u onto l.
func (u LocationUpdate) Apply(l *Location) {
	if u.Name != nil {
		l.Name = *u.Name
	}
	if u.ParentID != nil {
		l.ParentID = *u.ParentID
	}
	if u.Address != nil {
		l.Address = *u.Address
	}
	if u.Notes != nil {
		l.Notes = *u.Notes
	}
}

// MaxLocationPage is the most locations one call of Locations returns.
const MaxLocationPage = 1000

// LocationFilter narrows a list of locations.
type LocationFilter struct {
	// ParentID, when set, lists only the direct children of that location.
	ParentID string
	// Limit caps the number returned; 0 means the default of 100, and more
	// than MaxLocationPage is cut to it.
	Limit int
	// After is a cursor: list only locations whose ID sorts after it.
	After string
}

// LocationService manages a tenant's locations. The tenant is taken from the
// context (package tenancy); a context without one gets ENoTenant. A location
// of another tenant is ENotFound, as if it did not exist.
type LocationService interface {
	// CreateLocation validates l, assigns its ID and timestamps, and stores
	// it. EInvalid for bad fields or an unknown parent; EConflict when a
	// sibling already has the name.
	CreateLocation(ctx context.Context, l *Location) error
	// Location returns the location with the given ID, or ENotFound.
	Location(ctx context.Context, id string) (*Location, error)
	// Locations lists locations ordered by ID.
	Locations(ctx context.Context, f LocationFilter) ([]*Location, error)
	// UpdateLocation changes the set fields of u and returns the result.
	// ENotFound, EInvalid (including a parent that would make a cycle),
	// EConflict as for CreateLocation.
	UpdateLocation(ctx context.Context, id string, u LocationUpdate) (*Location, error)
	// DeleteLocation removes a location. ENotFound; EConflict while it has
	// child locations.
	DeleteLocation(ctx context.Context, id string) error
}
