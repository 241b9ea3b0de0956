package dataplane

import (
	"context"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// TokenStore is the qm.TokenService: tokens live in the catalog, and each
// change is written to the tenant's audit log.
type TokenStore struct {
	identity *catalog.Identity
	router   sqlstore.Router
	now      func() time.Time
}

var _ qm.TokenService = (*TokenStore)(nil)

// NewTokenStore returns a TokenStore.
func NewTokenStore(identity *catalog.Identity, router sqlstore.Router, now func() time.Time) *TokenStore {
	return &TokenStore{identity: identity, router: router, now: now}
}

// CreateToken implements qm.TokenService. A caller may hand a token no more
// than its own role holds.
func (s *TokenStore) CreateToken(ctx context.Context, n qm.NewAPIToken) (*qm.APIToken, string, error) {
	if err := n.Validate(); err != nil {
		return nil, "", err
	}
	p := tenancy.PrincipalFrom(ctx)
	now := s.now()
	if n.ExpiresAt != nil && !n.ExpiresAt.After(now) {
		return nil, "", &qm.Error{Code: qm.EInvalid, Message: "expiry is in the past", Fields: map[string]string{"expires_at": "in the past"}}
	}
	secret := qm.NewSecret(qm.TokenPrefix)
	t := &qm.APIToken{Name: n.Name, Role: n.Role, CreatedBy: p.Name, ExpiresAt: n.ExpiresAt}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		role, err := knownRole(ctx, s.identity, c, n.Role)
		if err == nil {
			err = tenancy.PrincipalFrom(ctx).MayActOn(role)
		}
		if err != nil {
			return err
		}
		live := func() (int64, error) { return s.identity.CountLiveTokens(ctx, c.TenantID(), now) }
		if err := sqlstore.Room(ctx, c, qm.MaxAPITokens, 1, live); err != nil {
			return err
		}
		if err := s.identity.CreateToken(ctx, c.TenantID(), t, qm.HashSecret(secret), now); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, now, "token.create", "token", t.ID, nil, t)
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// Tokens implements qm.TokenService.
func (s *TokenStore) Tokens(ctx context.Context) ([]*qm.APIToken, error) {
	var ts []*qm.APIToken
	err := s.router.View(ctx, func(c sqlstore.Conn) (err error) {
		ts, err = s.identity.Tokens(ctx, c.TenantID())
		return err
	})
	return ts, err
}

// RevokeToken implements qm.TokenService. Only one whose role covers the
// token's may revoke it.
func (s *TokenStore) RevokeToken(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := s.identity.Token(ctx, c.TenantID(), id)
		if err != nil {
			return err
		}
		if err := mayActOnRole(ctx, s.identity, c, before.Role); err != nil {
			return err
		}
		now := s.now()
		if err := s.identity.RevokeToken(ctx, c.TenantID(), id, now); err != nil {
			return err
		}
		after := *before
		after.RevokedAt = &now
		return sqlstore.Audit(ctx, c, now, "token.revoke", "token", id, before, &after)
	})
}
