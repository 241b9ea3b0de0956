package qm

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Depreciation is a straight-line schedule: an asset loses its cost evenly
// over Months from its purchase date.
type Depreciation struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Months int    `json:"months"`
	// CategoryIDs are the categories whose models follow the schedule
	// unless a model names its own. A category follows one schedule:
	// listing it here moves it from any other.
	CategoryIDs []string  `json:"category_ids"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate checks the fields.
func (d *Depreciation) Validate() error {
	d.Name = strings.TrimSpace(d.Name)
	fields := map[string]string{}
	if d.Name == "" || len([]rune(d.Name)) > 200 {
		fields["name"] = "name is required, at most 200 characters"
	}
	checkMonths(fields, "months", "months", d.Months, 1)
	for i, id := range d.CategoryIDs {
		if slices.Contains(d.CategoryIDs[:i], id) {
			fields["category_ids"] = "lists " + id + " twice"
		}
	}
	return fieldsError(fields)
}

// BookValue is what an asset that cost costCents, bought on purchased
// (YYYY-MM-DD), is worth on day under a straight-line schedule of months:
// the cost less one month's share for each whole month since purchase,
// never below zero. It returns nil when the cost or the purchase date is
// unknown.
func BookValue(costCents *int64, purchased string, months int, day time.Time) *int64 {
	if costCents == nil || purchased == "" || months <= 0 {
		return nil
	}
	p, err := time.Parse(time.DateOnly, purchased)
	if err != nil {
		return nil
	}
	elapsed := (day.Year()-p.Year())*12 + int(day.Month()) - int(p.Month())
	if day.Day() < p.Day() {
		elapsed--
	}
	elapsed = max(0, min(elapsed, months))
	v := *costCents * int64(months-elapsed) / int64(months)
	return &v
}

// DepreciationUpdate holds the changes to a schedule; nil leaves a part as
// it is.
type DepreciationUpdate struct {
	Name        *string   `json:"name"`
	Months      *int      `json:"months"`
	CategoryIDs *[]string `json:"category_ids"`
}

// DepreciationService manages the depreciation schedules of the tenant in
// scope. Models name the schedule their assets follow, or follow their
// category's.
type DepreciationService interface {
	// CreateDepreciation stores d. EInvalid; EConflict for a taken name.
	CreateDepreciation(ctx context.Context, d *Depreciation) error
	// Depreciations lists every schedule by name.
	Depreciations(ctx context.Context) ([]*Depreciation, error)
	// UpdateDepreciation changes a schedule. ENotFound, EInvalid (also for
	// unknown categories), EConflict for a taken name.
	UpdateDepreciation(ctx context.Context, id string, u DepreciationUpdate) (*Depreciation, error)
	// DeleteDepreciation removes a schedule. ENotFound; EConflict while a
	// model uses it.
	DeleteDepreciation(ctx context.Context, id string) error
}
