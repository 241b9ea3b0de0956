package dataplane

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// MemberStore is the qm.MemberService: memberships live in the catalog, and
// each change is written to the tenant's audit log. It changes memberships
// only: people join by accepting an invitation (InvitationStore).
type MemberStore struct {
	identity *catalog.Identity
	router   sqlstore.Router
	now      func() time.Time
}

var (
	_ qm.MemberService   = (*MemberStore)(nil)
	_ qm.MemberDirectory = (*MemberStore)(nil)
)

// NewMemberStore returns a MemberStore.
func NewMemberStore(identity *catalog.Identity, router sqlstore.Router, now func() time.Time) *MemberStore {
	return &MemberStore{identity: identity, router: router, now: now}
}

// knownDepartment checks that a department id given for a membership names
// one of the tenant's departments ("" for none).
func knownDepartment(ctx context.Context, c sqlstore.Conn, id string) error {
	if id == "" {
		return nil
	}
	_, err := findDepartment(ctx, c, id)
	if qm.ErrorCode(err) == qm.ENotFound {
		return &qm.Error{Code: qm.EInvalid, Message: "unknown department", Fields: map[string]string{"department_id": "no such department"}}
	}
	return err
}

// Members implements qm.MemberService.
func (s *MemberStore) Members(ctx context.Context) ([]*qm.Member, error) {
	var ms []*qm.Member
	err := s.router.View(ctx, func(c sqlstore.Conn) (err error) {
		ms, err = s.identity.Members(ctx, c.TenantID())
		return err
	})
	return ms, err
}

// People implements qm.MemberDirectory. It filters and sorts the members
// here rather than in SQL: a tenant has thousands of members at most, and
// both engines then fold case alike.
func (s *MemberStore) People(ctx context.Context, q string) ([]*qm.Person, error) {
	ms, err := s.Members(ctx)
	if err != nil {
		return nil, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	ps := []*qm.Person{}
	for _, m := range ms {
		if q == "" || strings.Contains(strings.ToLower(m.Name), q) || strings.Contains(strings.ToLower(m.Email), q) {
			ps = append(ps, &qm.Person{UserID: m.UserID, Name: m.Name, Email: m.Email, Disabled: m.Disabled})
		}
	}
	slices.SortStableFunc(ps, func(a, b *qm.Person) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.Email, b.Email))
	})
	return ps, nil
}

// change loads a member the caller may change (not the caller, and within
// its role), runs fn and audits the change. The person's sessions are left
// alone: a role is read anew at every request, per tenant, so a change here
// has its effect here, and none in the person's other tenants.
func (s *MemberStore) change(ctx context.Context, userID, action string, fn func(c sqlstore.Conn, before *qm.Member) (*qm.Member, error)) (*qm.Member, error) {
	var after *qm.Member
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := s.identity.Member(ctx, c.TenantID(), userID)
		if err != nil {
			return err
		}
		if p := tenancy.PrincipalFrom(ctx); p.Kind == qm.PrincipalUser && p.ID == userID {
			return qm.Errorf(qm.EForbidden, "you cannot change or remove your own membership")
		}
		if err := mayActOnRole(ctx, s.identity, c, before.Role); err != nil {
			return err
		}
		if after, err = fn(c, before); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, s.now(), action, "member", userID, before, after)
	})
	return after, err
}

// UpdateMember implements qm.MemberService.
func (s *MemberStore) UpdateMember(ctx context.Context, userID string, u qm.MemberUpdate) (*qm.Member, error) {
	return s.change(ctx, userID, "member.update", func(c sqlstore.Conn, before *qm.Member) (*qm.Member, error) {
		m := qm.Membership{TenantID: c.TenantID(), UserID: userID, Role: before.Role, DepartmentID: before.DepartmentID}
		if u.Role != nil {
			role, err := knownRole(ctx, s.identity, c, *u.Role)
			if err == nil {
				err = tenancy.PrincipalFrom(ctx).MayActOn(role)
			}
			if err != nil {
				return nil, err
			}
			m.Role = role.Name
		}
		if u.DepartmentID != nil {
			if err := knownDepartment(ctx, c, *u.DepartmentID); err != nil {
				return nil, err
			}
			m.DepartmentID = *u.DepartmentID
		}
		if err := s.identity.SetMembership(ctx, &m, s.now()); err != nil {
			return nil, err
		}
		return s.identity.Member(ctx, c.TenantID(), userID)
	})
}

// RemoveMember implements qm.MemberService.
func (s *MemberStore) RemoveMember(ctx context.Context, userID string) error {
	_, err := s.change(ctx, userID, "member.remove", func(c sqlstore.Conn, _ *qm.Member) (*qm.Member, error) {
		return nil, s.identity.RemoveMembership(ctx, c.TenantID(), userID)
	})
	return err
}
