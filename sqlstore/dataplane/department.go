package dataplane

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// DepartmentStore is the qm.DepartmentService on any engine and tier.
type DepartmentStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.DepartmentService = (*DepartmentStore)(nil)

// NewDepartmentStore returns a DepartmentStore.
func NewDepartmentStore(router sqlstore.Router, now func() time.Time) *DepartmentStore {
	return &DepartmentStore{router: router, now: now}
}

const departmentColumns = `id, name, parent_id, created_at, updated_at`

var errDepartmentNotFound = qm.Errorf(qm.ENotFound, "department not found")

// CreateDepartment implements qm.DepartmentService.
func (s *DepartmentStore) CreateDepartment(ctx context.Context, d *qm.Department) error {
	d.Normalize()
	d.ID = sqlstore.NewID()
	if err := d.Validate(); err != nil {
		return err
	}
	d.CreatedAt = sqlstore.Timestamp(s.now())
	d.UpdatedAt = d.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := checkParent(ctx, c, "departments", "department", d.ID, d.ParentID); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO departments (tenant_id, `+departmentColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TenantID(), d.ID, d.Name, sqlstore.Nullable(d.ParentID), d.CreatedAt, d.UpdatedAt)
		if err != nil {
			return departmentError(err, "create department")
		}
		return sqlstore.Audit(ctx, c, d.CreatedAt, "department.create", "department", d.ID, nil, d)
	})
}

// Department implements qm.DepartmentService.
func (s *DepartmentStore) Department(ctx context.Context, id string) (*qm.Department, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Department, error) { return findDepartment(ctx, c, id) })
}

// Departments implements qm.DepartmentService.
func (s *DepartmentStore) Departments(ctx context.Context) ([]*qm.Department, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Department, error) {
		ds, err := sqlstore.QueryAll(ctx, c, scanDepartment, `SELECT `+departmentColumns+` FROM departments WHERE tenant_id = $1 ORDER BY name, id`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list departments: %w", err)
		}
		return ds, nil
	})
}

// UpdateDepartment implements qm.DepartmentService.
func (s *DepartmentStore) UpdateDepartment(ctx context.Context, id string, u qm.DepartmentUpdate) (*qm.Department, error) {
	var d *qm.Department
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findDepartment(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		d = &after
		sqlstore.SetIf(&d.Name, u.Name)
		sqlstore.SetIf(&d.ParentID, u.ParentID)
		d.Normalize()
		if err := d.Validate(); err != nil {
			return err
		}
		if err := checkParent(ctx, c, "departments", "department", d.ID, d.ParentID); err != nil {
			return err
		}
		d.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE departments SET name = $3, parent_id = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), d.ID, d.Name, sqlstore.Nullable(d.ParentID), d.UpdatedAt)
		if err != nil {
			return departmentError(err, "update department")
		}
		return sqlstore.Audit(ctx, c, d.UpdatedAt, "department.update", "department", d.ID, before, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteDepartment implements qm.DepartmentService.
func (s *DepartmentStore) DeleteDepartment(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findDepartment(ctx, c, id)
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `DELETE FROM departments WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id)
		if sqlstore.IsConstraint(err, sqlstore.ForeignKey) {
			return qm.Errorf(qm.EConflict, "department has sub-departments: move or delete them first")
		}
		if err != nil {
			return fmt.Errorf("delete department: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "department.delete", "department", id, before, nil)
	})
}

func findDepartment(ctx context.Context, c sqlstore.Conn, id string) (*qm.Department, error) {
	if !sqlstore.ValidID(id) {
		return nil, errDepartmentNotFound
	}
	d, err := scanDepartment(c.QueryRow(ctx, `SELECT `+departmentColumns+` FROM departments WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errDepartmentNotFound
	case err != nil:
		return nil, fmt.Errorf("get department: %w", err)
	}
	return d, nil
}

func scanDepartment(r sqlstore.Row) (*qm.Department, error) {
	var d qm.Department
	var parent sql.NullString
	if err := r.Scan(&d.ID, &d.Name, &parent, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.ParentID = parent.String
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

func departmentError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a department with this name already exists under the same parent",
			Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}
