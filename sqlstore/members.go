package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// MemberStore is the qm.MemberService: memberships live in the catalog, and
// each change is written to the tenant's audit log.
type MemberStore struct {
	identity *Identity
	router   Router
	hash     func(password string) (string, error)
	now      func() time.Time
}

var _ qm.MemberService = (*MemberStore)(nil)

// NewMemberStore returns a MemberStore that hashes new users' passwords with
// hash.
func NewMemberStore(identity *Identity, router Router, hash func(string) (string, error), now func() time.Time) *MemberStore {
	return &MemberStore{identity: identity, router: router, hash: hash, now: now}
}

// mayGrant checks that the principal in ctx may hand out role: its own role
// must cover it. The operator and the system may grant any role.
func mayGrant(ctx context.Context, role qm.Role) error {
	p := tenancy.PrincipalFrom(ctx)
	if p.Kind == qm.PrincipalOperator || p.Kind == qm.PrincipalSystem || p.Role.Covers(role) {
		return nil
	}
	return qm.Errorf(qm.EForbidden, "your role %s cannot grant the role %s", p.Role.Name, role.Name)
}

// knownDepartment checks that a department id given for a membership names
// one of the tenant's departments ("" for none).
func knownDepartment(ctx context.Context, c Conn, id string) error {
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
	err := s.router.View(ctx, func(c Conn) (err error) {
		ms, err = s.identity.Members(ctx, c.TenantID())
		return err
	})
	return ms, err
}

// AddMember implements qm.MemberService.
func (s *MemberStore) AddMember(ctx context.Context, n qm.NewMember) (*qm.Member, error) {
	n.Email = qm.NormalizeEmail(n.Email)
	if err := qm.ValidateEmail(n.Email); err != nil {
		return nil, &qm.Error{Code: qm.EInvalid, Message: qm.ErrorMessage(err), Fields: map[string]string{"email": "not an email address"}}
	}
	var m *qm.Member
	err := s.router.Update(ctx, func(c Conn) error {
		role, err := s.identity.knownRole(ctx, c, n.Role)
		if err == nil {
			err = mayGrant(ctx, role)
		}
		if err == nil {
			err = knownDepartment(ctx, c, n.DepartmentID)
		}
		if err != nil {
			return err
		}
		u, _, err := s.identity.UserByEmail(ctx, n.Email)
		if qm.ErrorCode(err) == qm.ENotFound {
			u, err = s.createUser(ctx, n)
		}
		if err != nil {
			return err
		}
		if _, err := s.identity.Member(ctx, c.TenantID(), u.ID); err == nil {
			return qm.Errorf(qm.EConflict, "%s is already a member", n.Email)
		}
		now := s.now()
		if err := s.identity.SetMembership(ctx, &qm.Membership{TenantID: c.TenantID(), UserID: u.ID, Role: role.Name, DepartmentID: n.DepartmentID}, now); err != nil {
			return err
		}
		if m, err = s.identity.Member(ctx, c.TenantID(), u.ID); err != nil {
			return err
		}
		return Audit(ctx, c, now, "member.add", "member", u.ID, nil, m)
	})
	return m, err
}

func (s *MemberStore) createUser(ctx context.Context, n qm.NewMember) (*qm.User, error) {
	if err := qm.ValidatePassword(n.Password); err != nil {
		return nil, &qm.Error{Code: qm.EInvalid, Message: "a new user needs an initial password: " + qm.ErrorMessage(err),
			Fields: map[string]string{"password": qm.ErrorMessage(err)}}
	}
	hash, err := s.hash(n.Password)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(n.Name)
	if name == "" {
		name, _, _ = strings.Cut(n.Email, "@")
	}
	u := &qm.User{Email: n.Email, Name: name}
	return u, s.identity.CreateUser(ctx, u, hash, s.now())
}

// change loads a member the caller may change (not the caller, and within
// its role), runs fn, ends the user's sessions so its rights are read anew,
// and audits the change.
func (s *MemberStore) change(ctx context.Context, userID, action string, fn func(c Conn, before *qm.Member) (*qm.Member, error)) (*qm.Member, error) {
	var after *qm.Member
	err := s.router.Update(ctx, func(c Conn) error {
		before, err := s.identity.Member(ctx, c.TenantID(), userID)
		if err != nil {
			return err
		}
		if p := tenancy.PrincipalFrom(ctx); p.Kind == qm.PrincipalUser && p.ID == userID {
			return qm.Errorf(qm.EForbidden, "you cannot change or remove your own membership")
		}
		current, err := s.identity.knownRole(ctx, c, before.Role)
		if err == nil {
			err = mayGrant(ctx, current)
		}
		if err != nil {
			return err
		}
		if after, err = fn(c, before); err != nil {
			return err
		}
		if err := s.identity.DeleteSessions(ctx, userID); err != nil {
			return err
		}
		return Audit(ctx, c, s.now(), action, "member", userID, before, after)
	})
	return after, err
}

// UpdateMember implements qm.MemberService.
func (s *MemberStore) UpdateMember(ctx context.Context, userID string, u qm.MemberUpdate) (*qm.Member, error) {
	return s.change(ctx, userID, "member.update", func(c Conn, before *qm.Member) (*qm.Member, error) {
		m := qm.Membership{TenantID: c.TenantID(), UserID: userID, Role: before.Role, DepartmentID: before.DepartmentID}
		if u.Role != nil {
			role, err := s.identity.knownRole(ctx, c, *u.Role)
			if err == nil {
				err = mayGrant(ctx, role)
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
	_, err := s.change(ctx, userID, "member.remove", func(c Conn, _ *qm.Member) (*qm.Member, error) {
		return nil, s.identity.RemoveMembership(ctx, c.TenantID(), userID)
	})
	return err
}
