package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// The department scope: a member confined to a department sees and changes
// only the department-bound data (assets, devices, what hangs off them) of
// its department's subtree. The router binds every connection to the
// department of the principal it serves, as it binds it to the tenant
// (Binding); every query of department-bound data applies the
// connection's department through the functions of this file, and the
// cross-department suite (httpapi) checks every route against them.

// Binding is what a Conn is bound to: a tenant, and the department of the
// principal it serves. The engines embed it in their connections.
type Binding struct {
	tenantID, department string
}

// Bind binds a connection to tenant t, for the principal in ctx.
func Bind(ctx context.Context, t *qm.Tenant) Binding {
	return Binding{tenantID: t.ID, department: tenancy.PrincipalFrom(ctx).DepartmentID}
}

// TenantID implements Conn.
func (b Binding) TenantID() string { return b.tenantID }

// Department implements Conn.
func (b Binding) Department() string { return b.department }

// Subtree is a condition on column: the department c is bound to and its
// descendants, or nothing for a connection bound to none. It adds its
// argument to args.
func Subtree(c Conn, column string, args *Args) string {
	dept := c.Department()
	if dept == "" {
		return ""
	}
	return ` AND ` + column + ` IN (WITH RECURSIVE sub(id) AS (
		SELECT id FROM departments WHERE tenant_id = $1 AND id = ` + args.Add(dept) + `
		UNION
		SELECT d.id FROM departments d JOIN sub ON d.tenant_id = $1 AND d.parent_id = sub.id
	) SELECT id FROM sub)`
}

// DepartmentsInScope is the department subtree c is bound to, nil for a
// connection bound to none, which sees every department.
func DepartmentsInScope(ctx context.Context, c Conn) (map[string]bool, error) {
	args := Args{c.TenantID()}
	cond := Subtree(c, "id", &args)
	if cond == "" {
		return nil, nil
	}
	in, err := QueryIDs(ctx, c, `SELECT id FROM departments WHERE tenant_id = $1`+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("departments in scope: %w", err)
	}
	return in, nil
}

// InScope checks that a connection bound to a department places an asset
// in its part of the tree.
func InScope(ctx context.Context, c Conn, deptID string) error {
	args := Args{c.TenantID(), deptID}
	cond := Subtree(c, "id", &args)
	if cond == "" {
		return nil
	}
	var one int
	err := c.QueryRow(ctx, `SELECT 1 FROM departments WHERE tenant_id = $1 AND id = $2`+cond, args...).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return ErrOutsideDepartment
	}
	return err
}

// ErrOutsideDepartment is the answer to placing an asset outside the
// department subtree the connection is bound to.
var ErrOutsideDepartment = &qm.Error{Code: qm.EInvalid, Message: "you may place assets only in your own department or below it",
	Fields: map[string]string{"department_id": "outside your department"}}
