package dataplane

import (
	"context"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// RoleStore is the qm.RoleService.
type RoleStore struct {
	identity *catalog.Identity
	router   sqlstore.Router
	now      func() time.Time
}

var _ qm.RoleService = (*RoleStore)(nil)

// NewRoleStore returns a RoleStore.
func NewRoleStore(identity *catalog.Identity, router sqlstore.Router, now func() time.Time) *RoleStore {
	return &RoleStore{identity: identity, router: router, now: now}
}

// Roles implements qm.RoleService.
func (s *RoleStore) Roles(ctx context.Context) ([]qm.Role, error) {
	rs := append([]qm.Role{}, qm.BuiltInRoles...)
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
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
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		now := s.now()
		if err := s.identity.CreateRole(ctx, c.TenantID(), r, now); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, now, "role.create", "role", r.Name, nil, r)
	})
}

// DeleteRole implements qm.RoleService.
func (s *RoleStore) DeleteRole(ctx context.Context, name string) error {
	if _, ok := qm.BuiltInRole(name); ok {
		return qm.Errorf(qm.EInvalid, "%s is a built-in role", name)
	}
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
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
		return sqlstore.Audit(ctx, c, s.now(), "role.delete", "role", name, before, nil)
	})
}

// knownRole returns the role of the tenant c is bound to, or EInvalid.
func knownRole(ctx context.Context, s *catalog.Identity, c sqlstore.Conn, name string) (qm.Role, error) {
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
func mayInvite(ctx context.Context, s *catalog.Identity, c sqlstore.Conn, name string) (qm.Role, error) {
	p := tenancy.PrincipalFrom(ctx)
	if p.Kind != qm.PrincipalOperator && p.Kind != qm.PrincipalSystem && !p.Can(qm.PermUsersManage) {
		return qm.Role{}, qm.Errorf(qm.EForbidden, "your role %s does not allow %s, to invite people", p.Role.Name, qm.PermUsersManage)
	}
	role, err := knownRole(ctx, s, c, name)
	if err != nil {
		return role, err
	}
	return role, p.MayActOn(role)
}

// mayActOnRole applies qm.Principal.MayActOn, for the principal in ctx, to
// the role something already holds (a member, a token, an invitation). A
// custom role deleted since counts as holding every permission, so that
// only one who holds them all may act on what still names it.
func mayActOnRole(ctx context.Context, s *catalog.Identity, c sqlstore.Conn, name string) error {
	r, err := s.Role(ctx, c.TenantID(), name)
	if qm.ErrorCode(err) == qm.ENotFound {
		r, err = qm.Role{Name: name, Permissions: qm.Permissions}, nil
	}
	if err != nil {
		return err
	}
	return tenancy.PrincipalFrom(ctx).MayActOn(r)
}
