package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// Role returns the role a tenant knows by name: a built-in one, or one of
// the tenant's own. ENotFound.
func (s *Identity) Role(ctx context.Context, tenantID, name string) (qm.Role, error) {
	if r, ok := qm.BuiltInRole(name); ok {
		return r, nil
	}
	var perms string
	err := s.catalog.QueryRow(ctx, `SELECT permissions FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name).Scan(&perms)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return qm.Role{}, qm.Errorf(qm.ENotFound, "role %s not found", name)
	case err != nil:
		return qm.Role{}, fmt.Errorf("get role: %w", err)
	}
	return qm.Role{Name: name, Permissions: parsePermissions(perms)}, nil
}

// CustomRoles lists a tenant's own roles by name.
func (s *Identity) CustomRoles(ctx context.Context, tenantID string) ([]qm.Role, error) {
	rows, err := s.catalog.Query(ctx, `SELECT name, permissions FROM roles WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var rs []qm.Role
	for rows.Next() {
		var name, perms string
		if err := rows.Scan(&name, &perms); err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		rs = append(rs, qm.Role{Name: name, Permissions: parsePermissions(perms)})
	}
	return rs, rows.Err()
}

// CreateRole stores a tenant's own role. EConflict when the name is taken.
func (s *Identity) CreateRole(ctx context.Context, tenantID string, r qm.Role, now time.Time) error {
	perms := make([]string, len(r.Permissions))
	for i, p := range r.Permissions {
		perms[i] = string(p)
	}
	_, err := s.catalog.Exec(ctx, `INSERT INTO roles (tenant_id, name, permissions, created_at) VALUES ($1, $2, $3, $4)`,
		tenantID, r.Name, strings.Join(perms, " "), sqlstore.Timestamp(now))
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a role named " + r.Name + " already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return err
}

// DeleteRole removes a tenant's own role. ENotFound; EConflict while a
// member, a live token or an open invitation holds it.
func (s *Identity) DeleteRole(ctx context.Context, tenantID, name string) error {
	var holders int
	err := s.catalog.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM memberships WHERE tenant_id = $1 AND role = $2) +
		(SELECT COUNT(*) FROM api_tokens WHERE tenant_id = $1 AND role = $2 AND revoked_at IS NULL) +
		(SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND role = $2 AND accepted_at IS NULL AND revoked_at IS NULL)`, tenantID, name).Scan(&holders)
	if err != nil {
		return fmt.Errorf("delete role: %w", err)
	}
	if holders > 0 {
		return qm.Errorf(qm.EConflict, "role %s is held by %d members, tokens or invitations: change or revoke them first", name, holders)
	}
	n, err := s.catalog.Exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name)
	if err == nil && n == 0 {
		return qm.Errorf(qm.ENotFound, "role %s not found", name)
	}
	return err
}

func parsePermissions(s string) []qm.Permission {
	var ps []qm.Permission
	for _, f := range strings.Fields(s) {
		ps = append(ps, qm.Permission(f))
	}
	return ps
}
