package dataplane

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// InvitationStore is the qm.InvitationService, and the acceptance of
// invitations by their link's holder. Invitations live in the catalog; each
// one, its revocation and its acceptance are written to the tenant's audit
// log.
type InvitationStore struct {
	identity *catalog.Identity
	assets   *AssetStore
	router   sqlstore.Router
	tenants  *catalog.TenantService
	hash     func(password string) (string, error)
	now      func() time.Time
	// publicURL starts the links handed out ("" for bare paths).
	publicURL string
}

var _ qm.InvitationService = (*InvitationStore)(nil)

// NewInvitationStore returns an InvitationStore that hashes new accounts'
// passwords with hash and starts links with publicURL.
func NewInvitationStore(identity *catalog.Identity, router sqlstore.Router, tenants *catalog.TenantService, hash func(string) (string, error), publicURL string, now func() time.Time) *InvitationStore {
	return &InvitationStore{identity: identity, assets: NewAssetStore(router, identity, now), router: router, tenants: tenants,
		hash: hash, now: now, publicURL: strings.TrimSuffix(publicURL, "/")}
}

// Invite implements qm.InvitationService. It never looks at accounts, so
// its answer cannot depend on whether one exists.
func (s *InvitationStore) Invite(ctx context.Context, n qm.NewInvitation) (*qm.Invitation, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if n.TTL == 0 {
		n.TTL = qm.InvitationTTL
	}
	now := s.now()
	secret := qm.NewLinkSecret(qm.InvitationPrefix)
	p := tenancy.PrincipalFrom(ctx)
	inv := &qm.Invitation{Email: n.Email, DepartmentID: n.DepartmentID, InvitedBy: p.Name, CreatedAt: now, ExpiresAt: now.Add(n.TTL)}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		role, err := mayInvite(ctx, s.identity, c, n.Role)
		if err == nil {
			err = knownDepartment(ctx, c, n.DepartmentID)
		}
		if err == nil {
			inv.CheckOut, err = s.assetsToCheckOut(ctx, c, n.CheckOut)
		}
		if err != nil {
			return err
		}
		inv.Role = role.Name
		seats := func() (int64, error) { return s.identity.CountMembersAndInvited(ctx, c.TenantID(), inv.Email, now) }
		if err := sqlstore.Room(ctx, c, qm.MaxMembers, 1, seats); err != nil {
			return err
		}
		replaced, err := s.identity.CreateInvitation(ctx, c.TenantID(), inv, qm.HashSecret(secret))
		if err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, now, "invitation.create", "invitation", inv.ID, replaced, inv)
	})
	if err != nil {
		return nil, err
	}
	inv.Link = s.publicURL + qm.InvitationPath(secret)
	return inv, nil
}

// assetsToCheckOut checks that the caller may check out assets and can see
// each one, and returns their ids without repeats.
func (s *InvitationStore) assetsToCheckOut(ctx context.Context, c sqlstore.Conn, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	p := tenancy.PrincipalFrom(ctx)
	if p.Kind != qm.PrincipalOperator && p.Kind != qm.PrincipalSystem && !p.Can(qm.PermAssetsWrite) {
		return nil, qm.Errorf(qm.EForbidden, "your role %s does not allow %s, to check assets out", p.Role.Name, qm.PermAssetsWrite)
	}
	var out []string
	for _, id := range ids {
		if _, err := FindAsset(ctx, c, id); qm.ErrorCode(err) == qm.ENotFound {
			return nil, &qm.Error{Code: qm.EInvalid, Message: "unknown asset " + id, Fields: map[string]string{"check_out": "no such asset"}}
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Invitations implements qm.InvitationService.
func (s *InvitationStore) Invitations(ctx context.Context) ([]*qm.Invitation, error) {
	var is []*qm.Invitation
	err := s.router.View(ctx, func(c sqlstore.Conn) (err error) {
		is, err = s.identity.OpenInvitations(ctx, c.TenantID())
		return err
	})
	return is, err
}

// RevokeInvitation implements qm.InvitationService.
func (s *InvitationStore) RevokeInvitation(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := s.identity.Invitation(ctx, c.TenantID(), id)
		if err != nil {
			return err
		}
		if before.AcceptedAt != nil || before.RevokedAt != nil {
			return catalog.ErrInvitationNotFound
		}
		if err := mayActOnRole(ctx, s.identity, c, before.Role); err != nil {
			return err
		}
		now := s.now()
		if err := s.identity.RevokeInvitation(ctx, c.TenantID(), id, now); err != nil {
			return err
		}
		after := *before
		after.RevokedAt = &now
		return sqlstore.Audit(ctx, c, now, "invitation.revoke", "invitation", id, before, &after)
	})
}

// Lookup returns what the holder of an invitation's link may see of it.
// ENotFound, saying why, for a link that is unknown, used, revoked or
// expired.
func (s *InvitationStore) Lookup(ctx context.Context, secret string) (*qm.InvitationView, error) {
	tn, inv, err := s.bySecret(ctx, secret)
	if err != nil {
		return nil, err
	}
	_, _, err = s.identity.UserByEmail(ctx, inv.Email)
	if err != nil && qm.ErrorCode(err) != qm.ENotFound {
		return nil, err
	}
	exists := err == nil
	return &qm.InvitationView{TenantSlug: tn.Slug, TenantName: tn.Name, Email: inv.Email, Role: inv.Role, ExpiresAt: inv.ExpiresAt,
		SetPassword: !exists, SignIn: exists}, nil
}

// bySecret returns a usable invitation and its tenant, which must be active.
func (s *InvitationStore) bySecret(ctx context.Context, secret string) (*qm.Tenant, *qm.Invitation, error) {
	if !strings.HasPrefix(secret, qm.InvitationPrefix) {
		return nil, nil, catalog.ErrNoSuchLink
	}
	tenantID, inv, err := s.identity.InvitationBySecret(ctx, qm.HashSecret(secret))
	if err != nil {
		return nil, nil, err
	}
	if err := inv.Usable(s.now()); err != nil {
		return nil, nil, err
	}
	tn, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	if tn.State != qm.StateActive {
		return nil, nil, qm.Errorf(qm.ETenantInert, "%s is %s: try again later", tn.Name, tn.State)
	}
	return tn, inv, nil
}

// checkOutOnAccept checks the invitation's assets out to u, skipping any
// that is no longer available (gone, held, not deployable): the invitation
// was a promise, not a reservation. It returns the ids checked out.
func (s *InvitationStore) checkOutOnAccept(ctx context.Context, c sqlstore.Conn, inv *qm.Invitation, u *qm.User) ([]string, error) {
	var done []string
	for _, id := range inv.CheckOut {
		_, err := s.assets.checkOut(ctx, c, id, qm.CheckOut{HolderType: qm.HolderUser, HolderID: u.ID, Note: "on accepting invitation " + inv.ID})
		switch qm.ErrorCode(err) {
		case "":
			done = append(done, id)
		case qm.EInternal:
			return nil, err
		}
	}
	return done, nil
}

// Accept accepts the invitation whose link's secret is given. When an
// account has the invitation's email, the caller must be signed in as that
// account (EUnauthorized when not signed in, EForbidden as another);
// otherwise the account is created with the name and password given
// (EInvalid for a bad password). The invitation is then used up and the
// membership made, unless the account was a member already, which is left
// as it was. ENotFound, saying why, for a link unknown, used, revoked or
// expired; EInvalid when the role or department offered is gone.
func (s *InvitationStore) Accept(ctx context.Context, secret string, a qm.Acceptance) (*qm.Accepted, error) {
	tn, inv, err := s.bySecret(ctx, secret)
	if err != nil {
		return nil, err
	}
	u, _, err := s.identity.UserByEmail(ctx, inv.Email)
	var hash string
	switch {
	case err == nil && a.SignedIn == nil:
		return nil, qm.Errorf(qm.EUnauthorized, "an account with %s exists: sign in as it, then accept (if you never chose its password, ask the operator for a password reset link)", inv.Email)
	case err == nil && a.SignedIn.ID != u.ID:
		return nil, qm.Errorf(qm.EForbidden, "this invitation is for %s: sign in as that account to accept it", inv.Email)
	case qm.ErrorCode(err) == qm.ENotFound:
		u = nil
		if len(a.Name) > 200 {
			return nil, &qm.Error{Code: qm.EInvalid, Message: "a name is at most 200 bytes", Fields: map[string]string{"name": "too long"}}
		}
		if err := qm.ValidatePassword(a.Password); err != nil {
			return nil, err
		}
		if hash, err = s.hash(a.Password); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	ctx = tenancy.WithTenant(ctx, tn)
	res := &qm.Accepted{Tenant: tn, Role: inv.Role}
	err = s.router.Update(ctx, func(c sqlstore.Conn) error {
		if _, err := knownRole(ctx, s.identity, c, inv.Role); qm.ErrorCode(err) == qm.EInvalid {
			return qm.Errorf(qm.EInvalid, "the role this invitation offers no longer exists; ask for a new invitation")
		} else if err != nil {
			return err
		}
		if err := knownDepartment(ctx, c, inv.DepartmentID); qm.ErrorCode(err) == qm.EInvalid {
			return qm.Errorf(qm.EInvalid, "the department this invitation names no longer exists; ask for a new invitation")
		} else if err != nil {
			return err
		}
		now := s.now()
		if err := s.identity.UseInvitation(ctx, tn.ID, inv, now); err != nil {
			return err
		}
		if u == nil {
			name := strings.TrimSpace(a.Name)
			if name == "" {
				name, _, _ = strings.Cut(inv.Email, "@")
			}
			u = &qm.User{Email: inv.Email, Name: name}
			if err := s.identity.CreateUser(ctx, u, hash, now); err != nil {
				return err
			}
			res.Created = true
		}
		res.User = u
		actx := tenancy.WithPrincipal(ctx, &qm.Principal{Kind: qm.PrincipalUser, ID: u.ID, Name: u.Email})
		accepted := map[string]any{"user_id": u.ID, "role": inv.Role, "department_id": inv.DepartmentID}
		if m, err := s.identity.Membership(ctx, tn.ID, u.ID); err == nil {
			res.AlreadyMember, res.Role = true, m.Role
			accepted = map[string]any{"user_id": u.ID, "already_member": true}
		} else if qm.ErrorCode(err) != qm.ENotFound {
			return err
		} else if err := s.identity.SetMembership(ctx, &qm.Membership{TenantID: tn.ID, UserID: u.ID, Role: inv.Role, DepartmentID: inv.DepartmentID}, now); err != nil {
			return err
		}
		if err := sqlstore.Audit(actx, c, now, "invitation.accept", "invitation", inv.ID, nil, accepted); err != nil {
			return err
		}
		res.CheckedOut, err = s.checkOutOnAccept(actx, c, inv, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
