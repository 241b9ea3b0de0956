package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

const invitationColumns = `id, email, role, department_id, invited_by, created_at, expires_at, accepted_at, revoked_at, check_out`

// ErrInvitationNotFound is the answer for an invitation the tenant does
// not have.
var ErrInvitationNotFound = qm.Errorf(qm.ENotFound, "invitation not found")

// ErrNoSuchLink is the answer to a link that names no invitation at all.
var ErrNoSuchLink = qm.Errorf(qm.ENotFound, "no such invitation: check the link, or ask for a new one")

// CreateInvitation stores an invitation of the tenant under the hash of its
// secret, assigning its ID, replacing the tenant's open invitation to the
// same email, which it returns (nil if there was none). The replaced
// invitation's assets to check out are added to the new one's.
func (s *Identity) CreateInvitation(ctx context.Context, tenantID string, inv *qm.Invitation, secretHash string) (*qm.Invitation, error) {
	inv.ID = sqlstore.NewID()
	inv.CreatedAt, inv.ExpiresAt = sqlstore.Timestamp(inv.CreatedAt), sqlstore.Timestamp(inv.ExpiresAt)
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
		if !sqlstore.IsConstraint(err, sqlstore.Unique) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create invitation: %w", err)
	}
	return replaced, nil
}

// CountMembersAndInvited counts what a cap on members counts: the
// tenant's members, and its open invitations at now but one to email (which
// a new invitation to it replaces).
func (s *Identity) CountMembersAndInvited(ctx context.Context, tenantID, email string, now time.Time) (n int64, err error) {
	err = s.catalog.QueryRow(ctx, `SELECT (SELECT count(*) FROM memberships WHERE tenant_id = $1)
		+ (SELECT count(*) FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 AND email <> $3)`,
		tenantID, sqlstore.Timestamp(now), email).Scan(&n)
	return n, err
}

// Invitation returns one invitation of the tenant. ENotFound.
func (s *Identity) Invitation(ctx context.Context, tenantID, id string) (*qm.Invitation, error) {
	if !sqlstore.ValidID(id) {
		return nil, ErrInvitationNotFound
	}
	return scanInvitation(s.catalog.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// InvitationBySecret returns the invitation stored under the hash, with its
// tenant's ID, whatever its state. ENotFound.
func (s *Identity) InvitationBySecret(ctx context.Context, secretHash string) (string, *qm.Invitation, error) {
	var tenantID string
	inv, err := scanInvitation(s.catalog.QueryRow(ctx, `SELECT `+invitationColumns+`, tenant_id FROM invitations WHERE secret_hash = $1`, secretHash), &tenantID)
	if qm.ErrorCode(err) == qm.ENotFound {
		return "", nil, ErrNoSuchLink
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
		ORDER BY i.expires_at, t.name`, email, sqlstore.Timestamp(now), qm.StateActive)
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
	if !sqlstore.ValidID(id) {
		return ErrInvitationNotFound
	}
	n, err := s.catalog.Exec(ctx, `UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		tenantID, id, sqlstore.Timestamp(at))
	if err == nil && n == 0 {
		return ErrInvitationNotFound
	}
	return err
}

// UseInvitation marks the invitation accepted at now, if it can still be
// accepted: of two callers racing with one link, one wins. ENotFound saying
// why for the other, or for an invitation used, revoked or expired.
func (s *Identity) UseInvitation(ctx context.Context, tenantID string, inv *qm.Invitation, now time.Time) error {
	n, err := s.catalog.Exec(ctx, `UPDATE invitations SET accepted_at = $3
		WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3`, tenantID, inv.ID, sqlstore.Timestamp(now))
	if err != nil {
		return fmt.Errorf("use invitation: %w", err)
	}
	if n == 0 {
		return qm.Errorf(qm.ENotFound, "this invitation was already used")
	}
	at := sqlstore.Timestamp(now)
	inv.AcceptedAt = &at
	return nil
}

func scanInvitation(r sqlstore.Row, extra ...any) (*qm.Invitation, error) {
	var inv qm.Invitation
	var accepted, revoked sql.NullTime
	var checkOut string
	err := r.Scan(append([]any{&inv.ID, &inv.Email, &inv.Role, &inv.DepartmentID, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt, &accepted, &revoked, &checkOut}, extra...)...)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, ErrInvitationNotFound
	case err != nil:
		return nil, fmt.Errorf("get invitation: %w", err)
	}
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	inv.AcceptedAt, inv.RevokedAt = sqlstore.TimePtr(accepted), sqlstore.TimePtr(revoked)
	inv.CheckOut = strings.Fields(checkOut)
	return &inv, nil
}
