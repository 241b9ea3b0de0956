package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
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
	case errors.Is(err, ErrNoRows):
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
		tenantID, r.Name, strings.Join(perms, " "), Timestamp(now))
	if IsConstraint(err, Unique) {
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

// RoleStore is the qm.RoleService.
type RoleStore struct {
	identity *Identity
	router   Router
	now      func() time.Time
}

var _ qm.RoleService = (*RoleStore)(nil)

// NewRoleStore returns a RoleStore.
func NewRoleStore(identity *Identity, router Router, now func() time.Time) *RoleStore {
	return &RoleStore{identity: identity, router: router, now: now}
}

// Roles implements qm.RoleService.
func (s *RoleStore) Roles(ctx context.Context) ([]qm.Role, error) {
	rs := append([]qm.Role{}, qm.BuiltInRoles...)
	err := s.router.View(ctx, func(c Conn) error {
		custom, err := s.identity.CustomRoles(ctx, c.TenantID())
		rs = append(rs, custom...)
		return err
	})
	return rs, err
}

// CreateRole implements qm.RoleService.
func (s *RoleStore) CreateRole(ctx context.Context, r qm.Role) error {
	r.BuiltIn = false
	if err := qm.ValidateRole(r); err != nil {
		return err
	}
	if err := tenancy.PrincipalFrom(ctx).MayActOn(r); err != nil {
		return err
	}
	return s.router.Update(ctx, func(c Conn) error {
		now := s.now()
		if err := s.identity.CreateRole(ctx, c.TenantID(), r, now); err != nil {
			return err
		}
		return Audit(ctx, c, now, "role.create", "role", r.Name, nil, r)
	})
}

// DeleteRole implements qm.RoleService.
func (s *RoleStore) DeleteRole(ctx context.Context, name string) error {
	if _, ok := qm.BuiltInRole(name); ok {
		return qm.Errorf(qm.EInvalid, "%s is a built-in role", name)
	}
	return s.router.Update(ctx, func(c Conn) error {
		before, err := s.identity.Role(ctx, c.TenantID(), name)
		if err != nil {
			return err
		}
		if err := tenancy.PrincipalFrom(ctx).MayActOn(before); err != nil {
			return err
		}
		if err := s.identity.DeleteRole(ctx, c.TenantID(), name); err != nil {
			return err
		}
		return Audit(ctx, c, s.now(), "role.delete", "role", name, before, nil)
	})
}

// knownRole returns the role of the tenant c is bound to, or EInvalid.
func (s *Identity) knownRole(ctx context.Context, c Conn, name string) (qm.Role, error) {
	r, err := s.Role(ctx, c.TenantID(), name)
	if qm.ErrorCode(err) == qm.ENotFound {
		return r, &qm.Error{Code: qm.EInvalid, Message: "unknown role " + name, Fields: map[string]string{"role": "unknown role"}}
	}
	return r, err
}

// mayInvite is the one rule for offering the tenant's role name in an
// invitation, whoever asks for one (the invitations route, an import
// inviting its missing holders): the principal in ctx manages users, and
// their role covers the one offered. The operator and the system act as
// the platform. EForbidden; EInvalid for an unknown role.
func (s *Identity) mayInvite(ctx context.Context, c Conn, name string) (qm.Role, error) {
	p := tenancy.PrincipalFrom(ctx)
	if p.Kind != qm.PrincipalOperator && p.Kind != qm.PrincipalSystem && !p.Can(qm.PermUsersManage) {
		return qm.Role{}, qm.Errorf(qm.EForbidden, "your role %s does not allow %s, to invite people", p.Role.Name, qm.PermUsersManage)
	}
	role, err := s.knownRole(ctx, c, name)
	if err != nil {
		return role, err
	}
	return role, p.MayActOn(role)
}

// mayActOnRole applies qm.Principal.MayActOn, for the principal in ctx, to
// the role something already holds (a member, a token, an invitation). A
// custom role deleted since counts as holding every permission, so that
// only one who holds them all may act on what still names it.
func (s *Identity) mayActOnRole(ctx context.Context, c Conn, name string) error {
	r, err := s.Role(ctx, c.TenantID(), name)
	if qm.ErrorCode(err) == qm.ENotFound {
		r, err = qm.Role{Name: name, Permissions: qm.Permissions}, nil
	}
	if err != nil {
		return err
	}
	return tenancy.PrincipalFrom(ctx).MayActOn(r)
}
