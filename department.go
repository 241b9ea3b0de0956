package qm

import (
	"context"
	"strings"
	"time"
)

// Department is a part of a tenant's organization (Acme → Logistics → North
// depot). A membership scoped to a department confines the member to that
// department and its descendants.
type Department struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parent_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize trims surrounding white space.
func (d *Department) Normalize() {
	d.Name, d.ParentID = strings.TrimSpace(d.Name), strings.TrimSpace(d.ParentID)
}

// Validate checks a department's fields.
func (d *Department) Validate() error {
	fields := map[string]string{}
	switch {
	case d.Name == "":
		fields["name"] = "name is required"
	case len([]rune(d.Name)) > 200:
		fields["name"] = "name is longer than 200 characters"
	}
	if d.ParentID != "" && d.ParentID == d.ID {
		fields["parent_id"] = "a department cannot be its own parent"
	}
	return fieldsError(fields)
}

// DepartmentUpdate holds the fields to change; nil leaves a field as it is.
// An empty ParentID moves the department to the top.
type DepartmentUpdate struct {
	Name     *string `json:"name"`
	ParentID *string `json:"parent_id"`
}

// DepartmentService manages the departments of the tenant in scope. A
// department of another tenant is ENotFound.
type DepartmentService interface {
	// CreateDepartment stores d. EInvalid (also for an unknown parent),
	// EConflict when a sibling has the name.
	CreateDepartment(ctx context.Context, d *Department) error
	// Department returns one department. ENotFound.
	Department(ctx context.Context, id string) (*Department, error)
	// Departments lists every department by name.
	Departments(ctx context.Context) ([]*Department, error)
	// UpdateDepartment changes a department. ENotFound, EInvalid (also for
	// a cycle), EConflict.
	UpdateDepartment(ctx context.Context, id string, u DepartmentUpdate) (*Department, error)
	// DeleteDepartment removes a department. ENotFound; EConflict while it
	// has sub-departments.
	DeleteDepartment(ctx context.Context, id string) error
}
