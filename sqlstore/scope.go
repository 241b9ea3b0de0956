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
// its department's subtree. The scope travels in the context with the
// principal (tenancy.PrincipalFrom), like the tenant; every query of
// department-bound data applies it through the functions of this file, and
// the cross-department suite (httpapi) checks every route against them.

// confinedTo is the department the principal in ctx is confined to, ""
// for none.
func confinedTo(ctx context.Context) string { return tenancy.PrincipalFrom(ctx).DepartmentID }

// subtree is a condition on column: the department of the principal in ctx
// and its descendants, or nothing for a principal not confined to one. It
// adds its argument to args.
func subtree(ctx context.Context, column string, args *Args) string {
	dept := confinedTo(ctx)
	if dept == "" {
		return ""
	}
	return ` AND ` + column + ` IN (WITH RECURSIVE sub(id) AS (
		SELECT id FROM departments WHERE tenant_id = $1 AND id = ` + args.Add(dept) + `
		UNION
		SELECT d.id FROM departments d JOIN sub ON d.tenant_id = $1 AND d.parent_id = sub.id
	) SELECT id FROM sub)`
}

// departmentsInScope is the department subtree of the principal in ctx,
// nil for a principal confined to none, who sees every department.
func departmentsInScope(ctx context.Context, c Conn) (map[string]bool, error) {
	args := Args{c.TenantID()}
	cond := subtree(ctx, "id", &args)
	if cond == "" {
		return nil, nil
	}
	ids, err := queryAll(ctx, c, func(r Row) (*string, error) {
		var id string
		return &id, r.Scan(&id)
	}, `SELECT id FROM departments WHERE tenant_id = $1`+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("departments in scope: %w", err)
	}
	in := make(map[string]bool, len(ids))
	for _, id := range ids {
		in[*id] = true
	}
	return in, nil
}

// inScope checks that a department-confined principal places an asset in
// its own part of the tree.
func inScope(ctx context.Context, c Conn, deptID string) error {
	args := Args{c.TenantID(), deptID}
	cond := subtree(ctx, "id", &args)
	if cond == "" {
		return nil
	}
	var one int
	err := c.QueryRow(ctx, `SELECT 1 FROM departments WHERE tenant_id = $1 AND id = $2`+cond, args...).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return errOutsideDepartment
	}
	return err
}

var errOutsideDepartment = &qm.Error{Code: qm.EInvalid, Message: "you may place assets only in your own department or below it",
	Fields: map[string]string{"department_id": "outside your department"}}
