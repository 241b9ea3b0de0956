package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

const invitationColumns = `id, email, role, department_id, invited_by, created_at, expires_at, accepted_at, revoked_at, check_out`

var errInvitationNotFound = qm.Errorf(qm.ENotFound, "invitation not found")

// errNoSuchLink is the answer to a link that names no invitation at all.
var errNoSuchLink = qm.Errorf(qm.ENotFound, "no such invitation: check the link, or ask for a new one")

// CreateInvitation stores an invitation of the tenant under the hash of its
// secret, assigning its ID, replacing the tenant's open invitation to the
// same email, which it returns (nil if there was none). The replaced
// invitation's assets to check out are added to the new one's.
func (s *Identity) CreateInvitation(ctx context.Context, tenantID string, inv *qm.Invitation, secretHash string) (*qm.Invitation, error) {
	inv.ID = NewID()
	inv.CreatedAt, inv.ExpiresAt = Timestamp(inv.CreatedAt), Timestamp(inv.ExpiresAt)
	replaced, err := scanInvitation(s.catalog.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL`, tenantID, inv.Email))
	if qm.ErrorCode(err) == qm.ENotFound {
		replaced, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if replaced != nil {
		for _, id := range replaced.CheckOut {
			if !slices.Contains(inv.CheckOut, id) {
				inv.CheckOut = append(inv.CheckOut, id)
			}
		}
	}
	// Two inviters racing for one email: the unique index keeps one open
	// invitation, and the loser replaces the winner's.
	for range 2 {
		if _, err = s.catalog.Exec(ctx, `DELETE FROM invitations WHERE tenant_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
			tenantID, inv.Email); err != nil {
			return nil, fmt.Errorf("replace invitation: %w", err)
		}
		_, err = s.catalog.Exec(ctx, `INSERT INTO invitations (tenant_id, id, email, role, department_id, secret_hash, invited_by, created_at, expires_at, check_out)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, tenantID, inv.ID, inv.Email, inv.Role, inv.DepartmentID, secretHash, inv.InvitedBy,
			inv.CreatedAt, inv.ExpiresAt, strings.Join(inv.CheckOut, " "))
		if !IsConstraint(err, Unique) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	return replaced, nil
}

// countMembersAndInvited counts what a cap on members counts: the
// tenant's members, and its open invitations at now but one to email (which
// a new invitation to it replaces).
func (s *Identity) countMembersAndInvited(ctx context.Context, tenantID, email string, now time.Time) (n int64, err error) {
	err = s.catalog.QueryRow(ctx, `SELECT (SELECT count(*) FROM memberships WHERE tenant_id = $1)
		+ (SELECT count(*) FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 AND email <> $3)`,
		tenantID, Timestamp(now), email).Scan(&n)
	return n, err
}

// Invitation returns one invitation of the tenant. ENotFound.
func (s *Identity) Invitation(ctx context.Context, tenantID, id string) (*qm.Invitation, error) {
	if !ValidID(id) {
		return nil, errInvitationNotFound
	}
	return scanInvitation(s.catalog.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// InvitationBySecret returns the invitation stored under the hash, with its
// tenant's ID, whatever its state. ENotFound.
func (s *Identity) InvitationBySecret(ctx context.Context, secretHash string) (string, *qm.Invitation, error) {
	var tenantID string
	inv, err := scanInvitation(s.catalog.QueryRow(ctx, `SELECT `+invitationColumns+`, tenant_id FROM invitations WHERE secret_hash = $1`, secretHash), &tenantID)
	if qm.ErrorCode(err) == qm.ENotFound {
		return "", nil, errNoSuchLink
	}
	return tenantID, inv, err
}

// OpenInvitations lists the tenant's invitations neither accepted nor
// revoked, newest first.
func (s *Identity) OpenInvitations(ctx context.Context, tenantID string) ([]*qm.Invitation, error) {
	return s.invitations(ctx, `SELECT `+invitationColumns+` FROM invitations
		WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, tenantID)
}

func (s *Identity) invitations(ctx context.Context, query string, args ...any) ([]*qm.Invitation, error) {
	rows, err := s.catalog.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	is := []*qm.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		is = append(is, inv)
	}
	return is, rows.Err()
}

// PendingInvitations lists the invitations to the email that can still be
// accepted at now, in every tenant that is active, soonest to expire first.
func (s *Identity) PendingInvitations(ctx context.Context, email string, now time.Time) ([]qm.PendingInvitation, error) {
	rows, err := s.catalog.Query(ctx, `SELECT t.name, i.role, i.expires_at FROM invitations i JOIN tenants t ON t.id = i.tenant_id
		WHERE i.email = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 AND t.state = $3
		ORDER BY i.expires_at, t.name`, email, Timestamp(now), qm.StateActive)
	if err != nil {
		return nil, fmt.Errorf("list pending invitations: %w", err)
	}
	defer rows.Close()
	ps := []qm.PendingInvitation{}
	for rows.Next() {
		var p qm.PendingInvitation
		if err := rows.Scan(&p.TenantName, &p.Role, &p.ExpiresAt); err != nil {
			return nil, fmt.Errorf("list pending invitations: %w", err)
		}
		p.ExpiresAt = p.ExpiresAt.UTC()
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// TenantsOf lists the active tenants the user is a member of, by slug.
func (s *Identity) TenantsOf(ctx context.Context, userID string) ([]qm.TenantMembership, error) {
	rows, err := s.catalog.Query(ctx, `SELECT t.slug, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		WHERE m.user_id = $1 AND t.state = $2 ORDER BY t.slug`, userID, qm.StateActive)
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	defer rows.Close()
	ms := []qm.TenantMembership{}
	for rows.Next() {
		var m qm.TenantMembership
		if err := rows.Scan(&m.Slug, &m.Name, &m.Role); err != nil {
			return nil, fmt.Errorf("list memberships: %w", err)
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// RevokeInvitation marks an open invitation of the tenant revoked.
// ENotFound.
func (s *Identity) RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error {
	if !ValidID(id) {
		return errInvitationNotFound
	}
	n, err := s.catalog.Exec(ctx, `UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		tenantID, id, Timestamp(at))
	if err == nil && n == 0 {
		return errInvitationNotFound
	}
	return err
}

// UseInvitation marks the invitation accepted at now, if it can still be
// accepted: of two callers racing with one link, one wins. ENotFound saying
// why for the other, or for an invitation used, revoked or expired.
func (s *Identity) UseInvitation(ctx context.Context, tenantID string, inv *qm.Invitation, now time.Time) error {
	n, err := s.catalog.Exec(ctx, `UPDATE invitations SET accepted_at = $3
		WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3`, tenantID, inv.ID, Timestamp(now))
	if err != nil {
		return fmt.Errorf("use invitation: %w", err)
	}
	if n == 0 {
		return qm.Errorf(qm.ENotFound, "this invitation was already used")
	}
	at := Timestamp(now)
	inv.AcceptedAt = &at
	return nil
}

func scanInvitation(r Row, extra ...any) (*qm.Invitation, error) {
	var inv qm.Invitation
	var accepted, revoked sql.NullTime
	var checkOut string
	err := r.Scan(append([]any{&inv.ID, &inv.Email, &inv.Role, &inv.DepartmentID, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt, &accepted, &revoked, &checkOut}, extra...)...)
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, errInvitationNotFound
	case err != nil:
		return nil, fmt.Errorf("get invitation: %w", err)
	}
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	inv.AcceptedAt, inv.RevokedAt = timePtr(accepted), timePtr(revoked)
	inv.CheckOut = strings.Fields(checkOut)
	return &inv, nil
}

// InvitationStore is the qm.InvitationService, and the acceptance of
// invitations by their link's holder. Invitations live in the catalog; each
// one, its revocation and its acceptance are written to the tenant's audit
// log.
type InvitationStore struct {
	identity *Identity
	assets   *AssetStore
	router   Router
	tenants  *TenantService
	hash     func(password string) (string, error)
	now      func() time.Time
	// publicURL starts the links handed out ("" for bare paths).
	publicURL string
}

var _ qm.InvitationService = (*InvitationStore)(nil)

// NewInvitationStore returns an InvitationStore that hashes new accounts'
// passwords with hash and starts links with publicURL.
func NewInvitationStore(identity *Identity, router Router, tenants *TenantService, hash func(string) (string, error), publicURL string, now func() time.Time) *InvitationStore {
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
	err := s.router.Update(ctx, func(c Conn) error {
		role, err := s.identity.mayInvite(ctx, c, n.Role)
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
		seats := func() (int64, error) { return s.identity.countMembersAndInvited(ctx, c.TenantID(), inv.Email, now) }
		if err := room(ctx, c, qm.MaxMembers, 1, seats); err != nil {
			return err
		}
		replaced, err := s.identity.CreateInvitation(ctx, c.TenantID(), inv, qm.HashSecret(secret))
		if err != nil {
			return err
		}
		return Audit(ctx, c, now, "invitation.create", "invitation", inv.ID, replaced, inv)
	})
	if err != nil {
		return nil, err
	}
	inv.Link = s.publicURL + qm.InvitationPath(secret)
	return inv, nil
}

// assetsToCheckOut checks that the caller may check out assets and can see
// each one, and returns their ids without repeats.
func (s *InvitationStore) assetsToCheckOut(ctx context.Context, c Conn, ids []string) ([]string, error) {
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
	err := s.router.View(ctx, func(c Conn) (err error) {
		is, err = s.identity.OpenInvitations(ctx, c.TenantID())
		return err
	})
	return is, err
}

// RevokeInvitation implements qm.InvitationService.
func (s *InvitationStore) RevokeInvitation(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c Conn) error {
		before, err := s.identity.Invitation(ctx, c.TenantID(), id)
		if err != nil {
			return err
		}
		if before.AcceptedAt != nil || before.RevokedAt != nil {
			return errInvitationNotFound
		}
		if err := s.identity.mayActOnRole(ctx, c, before.Role); err != nil {
			return err
		}
		now := s.now()
		if err := s.identity.RevokeInvitation(ctx, c.TenantID(), id, now); err != nil {
			return err
		}
		after := *before
		after.RevokedAt = &now
		return Audit(ctx, c, now, "invitation.revoke", "invitation", id, before, &after)
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
		return nil, nil, errNoSuchLink
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
func (s *InvitationStore) checkOutOnAccept(ctx context.Context, c Conn, inv *qm.Invitation, u *qm.User) ([]string, error) {
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
	err = s.router.Update(ctx, func(c Conn) error {
		if _, err := s.identity.knownRole(ctx, c, inv.Role); qm.ErrorCode(err) == qm.EInvalid {
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
		if err := Audit(actx, c, now, "invitation.accept", "invitation", inv.ID, nil, accepted); err != nil {
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
