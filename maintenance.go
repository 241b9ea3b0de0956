package qm

import (
	"context"
	"strings"
	"time"
)

// Maintenance is work done on an asset: a repair, an upgrade, a test.
type Maintenance struct {
	ID          string    `json:"id"`
	AssetID     string    `json:"asset_id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	StartedOn   string    `json:"started_on"`             // YYYY-MM-DD
	CompletedOn string    `json:"completed_on,omitempty"` // YYYY-MM-DD
	CostCents   *int64    `json:"cost_cents,omitempty"`
	SupplierID  string    `json:"supplier_id,omitempty"`
	Notes       string    `json:"notes,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MaintenanceKinds are the kinds of maintenance.
var MaintenanceKinds = []string{"repair", "upgrade", "maintenance", "calibration", "software support", "hardware support", "test"}

// Normalize trims the text fields.
func (m *Maintenance) Normalize() {
	for _, f := range []*string{&m.Kind, &m.Title, &m.StartedOn, &m.CompletedOn, &m.SupplierID, &m.Notes} {
		*f = strings.TrimSpace(*f)
	}
}

// Validate checks the fields.
func (m *Maintenance) Validate() error {
	fields := map[string]string{}
	known := false
	for _, k := range MaintenanceKinds {
		known = known || k == m.Kind
	}
	if !known {
		fields["kind"] = "kind must be one of " + strings.Join(MaintenanceKinds, ", ")
	}
	if m.Title == "" || len([]rune(m.Title)) > 200 {
		fields["title"] = "title is required, at most 200 characters"
	}
	start, ok := checkDate(fields, "started_on", "start", m.StartedOn)
	if m.StartedOn == "" {
		fields["started_on"] = "start is required"
	}
	if end, done := checkDate(fields, "completed_on", "completion", m.CompletedOn); ok && done && end.Before(start) {
		fields["completed_on"] = "completion cannot come before the start"
	}
	checkCents(fields, "cost_cents", m.CostCents)
	return fieldsError(fields)
}

// MaintenanceUpdate holds the fields to change; nil leaves a field as it is.
type MaintenanceUpdate struct {
	Kind        *string `json:"kind"`
	Title       *string `json:"title"`
	StartedOn   *string `json:"started_on"`
	CompletedOn *string `json:"completed_on"`
	CostCents   *int64  `json:"cost_cents"`
	SupplierID  *string `json:"supplier_id"`
	Notes       *string `json:"notes"`
}

// MaintenanceService keeps the maintenance records of the assets of the
// tenant in scope; an asset the caller cannot see is ENotFound.
type MaintenanceService interface {
	// Maintenances lists an asset's records, newest start first.
	Maintenances(ctx context.Context, assetID string) ([]*Maintenance, error)
	// AddMaintenance records work on an asset. ENotFound; EInvalid.
	AddMaintenance(ctx context.Context, assetID string, m *Maintenance) error
	// UpdateMaintenance changes a record. ENotFound; EInvalid.
	UpdateMaintenance(ctx context.Context, assetID, id string, u MaintenanceUpdate) (*Maintenance, error)
	// DeleteMaintenance removes a record. ENotFound.
	DeleteMaintenance(ctx context.Context, assetID, id string) error
}
