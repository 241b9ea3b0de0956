package qm

import (
	"context"
	"strings"
	"time"
)

// License is software a tenant has bought a number of seats of.
type License struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	ProductKey     string    `json:"product_key,omitempty"`
	ManufacturerID string    `json:"manufacturer_id,omitempty"`
	Seats          int       `json:"seats"`
	UsedSeats      int       `json:"used_seats"`
	ExpiresOn      string    `json:"expires_on,omitempty"` // YYYY-MM-DD
	Notes          string    `json:"notes,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// FreeSeats is how many seats are not assigned.
func (l *License) FreeSeats() int { return l.Seats - l.UsedSeats }

// Normalize trims the text fields.
func (l *License) Normalize() {
	for _, f := range []*string{&l.Name, &l.ProductKey, &l.ManufacturerID, &l.ExpiresOn, &l.Notes} {
		*f = strings.TrimSpace(*f)
	}
}

// Validate checks a license's own fields.
func (l *License) Validate() error {
	fields := map[string]string{}
	if l.Name == "" || len([]rune(l.Name)) > 200 {
		fields["name"] = "name is required, at most 200 characters"
	}
	if l.Seats < 1 || l.Seats > 1000000 {
		fields["seats"] = "seats must be between 1 and 1000000"
	}
	checkDate(fields, "expires_on", "expiry", l.ExpiresOn)
	if len(l.ProductKey) > 1000 {
		fields["product_key"] = "product key is longer than 1000 characters"
	}
	return fieldsError(fields)
}

// LicenseUpdate holds the fields to change; nil leaves a field as it is.
type LicenseUpdate struct {
	Name           *string `json:"name"`
	ProductKey     *string `json:"product_key"`
	ManufacturerID *string `json:"manufacturer_id"`
	Seats          *int    `json:"seats"`
	ExpiresOn      *string `json:"expires_on"`
	Notes          *string `json:"notes"`
}

// Seat is one assigned seat of a license, held by a member or an asset.
type Seat struct {
	ID           string    `json:"id"`
	LicenseID    string    `json:"license_id"`
	AssigneeType string    `json:"assignee_type"` // HolderUser or HolderAsset
	AssigneeID   string    `json:"assignee_id"`
	AssignedAt   time.Time `json:"assigned_at"`
}

// LicenseFilter narrows a list of licenses.
type LicenseFilter struct {
	// ExpiringBefore lists only licenses that expire before this day
	// (YYYY-MM-DD).
	ExpiringBefore string
}

// LicenseService manages the licenses of the tenant in scope.
type LicenseService interface {
	// CreateLicense stores l. EInvalid.
	CreateLicense(ctx context.Context, l *License) error
	// License returns one license with its used seats. ENotFound.
	License(ctx context.Context, id string) (*License, error)
	// Licenses lists licenses by name, or by expiry when filtered.
	Licenses(ctx context.Context, f LicenseFilter) ([]*License, error)
	// UpdateLicense changes a license. ENotFound; EInvalid, also for fewer
	// seats than are assigned.
	UpdateLicense(ctx context.Context, id string, u LicenseUpdate) (*License, error)
	// DeleteLicense removes a license and its seats. ENotFound.
	DeleteLicense(ctx context.Context, id string) error
	// Seats lists a license's assigned seats. ENotFound.
	Seats(ctx context.Context, licenseID string) ([]*Seat, error)
	// AssignSeat gives a seat to a member or an asset. ENotFound; EInvalid
	// for an unknown assignee; EConflict when no seat is free or the
	// assignee has one already.
	AssignSeat(ctx context.Context, licenseID, assigneeType, assigneeID string) (*Seat, error)
	// FreeSeat takes a seat back. ENotFound.
	FreeSeat(ctx context.Context, licenseID, seatID string) error
}
