package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// Identity is the catalog's store of users, memberships, sessions and API
// tokens, on any engine. Secrets arrive hashed; nothing here sees one.
type Identity struct {
	catalog sqlstore.Querier
	tenants *TenantService
	tokens  credentialCache[tokenEntry]
}

// tokenEntry is a cached API token.
type tokenEntry struct {
	tenantID string
	token    qm.APIToken
}

var _ qm.Credentials = (*Identity)(nil)

// NewIdentity returns the identity store of the catalog q reaches, whose
// cached tokens tenants' WatchChanges forgets when another node changes
// them.
func NewIdentity(q sqlstore.Querier, tenants *TenantService) *Identity {
	s := &Identity{catalog: q, tenants: tenants}
	tenants.identity = s
	return s
}

const userColumns = `id, email, name, operator, disabled, created_at, last_login_at`

var errUserNotFound = qm.Errorf(qm.ENotFound, "user not found")

// CreateUser stores u with the given password hash, assigning its ID and
// creation time. EConflict when the email is taken.
func (s *Identity) CreateUser(ctx context.Context, u *qm.User, passwordHash string, now time.Time) error {
	u.ID, u.CreatedAt = sqlstore.NewID(), sqlstore.Timestamp(now)
	_, err := s.catalog.Exec(ctx, `INSERT INTO users (id, email, name, password_hash, operator, disabled, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, u.Email, u.Name, passwordHash, u.Operator, u.Disabled, u.CreatedAt)
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a user with email %q already exists", u.Email),
			Fields: map[string]string{"email": "already taken"}}
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByEmail returns the user with the email and the user's password hash.
// ENotFound.
func (s *Identity) UserByEmail(ctx context.Context, email string) (*qm.User, string, error) {
	var hash string
	u, err := scanUser(s.catalog.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email), &hash)
	return u, hash, err
}

// UserByID returns the user. ENotFound.
func (s *Identity) UserByID(ctx context.Context, id string) (*qm.User, error) {
	if !sqlstore.ValidID(id) {
		return nil, errUserNotFound
	}
	return scanUser(s.catalog.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

func scanUser(r sqlstore.Row, extra ...any) (*qm.User, error) {
	var u qm.User
	var last sql.NullTime
	err := r.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.Operator, &u.Disabled, &u.CreatedAt, &last}, extra...)...)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errUserNotFound
	case err != nil:
		return nil, fmt.Errorf("get user: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	u.LastLoginAt = sqlstore.TimePtr(last)
	return &u, nil
}

// RecordLogin sets the user's last login time.
func (s *Identity) RecordLogin(ctx context.Context, userID string, at time.Time) error {
	_, err := s.catalog.Exec(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, sqlstore.Timestamp(at))
	return err
}

// SetPassword replaces the user's password hash.
func (s *Identity) SetPassword(ctx context.Context, userID, passwordHash string) error {
	n, err := s.catalog.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, passwordHash)
	if err == nil && n == 0 {
		return errUserNotFound
	}
	return err
}

// SetMembership adds the user to the tenant, or changes the role and
// department the user has there.
func (s *Identity) SetMembership(ctx context.Context, m *qm.Membership, now time.Time) error {
	m.CreatedAt = sqlstore.Timestamp(now)
	n, err := s.catalog.Exec(ctx, `UPDATE memberships SET role = $3, department_id = $4 WHERE tenant_id = $1 AND user_id = $2`,
		m.TenantID, m.UserID, m.Role, m.DepartmentID)
	if err == nil && n == 0 {
		_, err = s.catalog.Exec(ctx, `INSERT INTO memberships (tenant_id, user_id, role, department_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
			m.TenantID, m.UserID, m.Role, m.DepartmentID, m.CreatedAt)
	}
	if err != nil {
		return fmt.Errorf("set membership: %w", err)
	}
	return nil
}

// Membership returns the user's membership in the tenant. ENotFound.
func (s *Identity) Membership(ctx context.Context, tenantID, userID string) (*qm.Membership, error) {
	var m qm.Membership
	err := s.catalog.QueryRow(ctx, `SELECT tenant_id, user_id, role, department_id, created_at FROM memberships
		WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).Scan(&m.TenantID, &m.UserID, &m.Role, &m.DepartmentID, &m.CreatedAt)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, qm.Errorf(qm.ENotFound, "membership not found")
	case err != nil:
		return nil, fmt.Errorf("get membership: %w", err)
	}
	return &m, nil
}

// CreateSession stores a session under the hash of its secret.
func (s *Identity) CreateSession(ctx context.Context, secretHash string, sess qm.Session) error {
	_, err := s.catalog.Exec(ctx, `INSERT INTO sessions (secret_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		secretHash, sess.UserID, sqlstore.Timestamp(sess.CreatedAt), sqlstore.Timestamp(sess.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the session stored under the hash. ENotFound, also for
// an expired session (which it removes).
func (s *Identity) Session(ctx context.Context, secretHash string, now time.Time) (*qm.Session, error) {
	var sess qm.Session
	err := s.catalog.QueryRow(ctx, `SELECT user_id, created_at, expires_at FROM sessions WHERE secret_hash = $1`, secretHash).
		Scan(&sess.UserID, &sess.CreatedAt, &sess.ExpiresAt)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, qm.Errorf(qm.ENotFound, "session not found")
	case err != nil:
		return nil, fmt.Errorf("get session: %w", err)
	case !now.Before(sess.ExpiresAt):
		s.DeleteSession(ctx, secretHash)
		return nil, qm.Errorf(qm.ENotFound, "session expired")
	}
	return &sess, nil
}

// DeleteSession removes one session.
func (s *Identity) DeleteSession(ctx context.Context, secretHash string) error {
	_, err := s.catalog.Exec(ctx, `DELETE FROM sessions WHERE secret_hash = $1`, secretHash)
	return err
}

// DeleteSessions removes every session of the user.
func (s *Identity) DeleteSessions(ctx context.Context, userID string) error {
	_, err := s.catalog.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return err
}

const tokenColumns = `id, name, role, created_by, created_at, expires_at, last_used_at, revoked_at`

// CreateToken stores a token of the tenant under the hash of its secret,
// assigning its ID and creation time.
func (s *Identity) CreateToken(ctx context.Context, tenantID string, t *qm.APIToken, secretHash string, now time.Time) error {
	t.ID, t.CreatedAt = sqlstore.NewID(), sqlstore.Timestamp(now)
	_, err := s.catalog.Exec(ctx, `INSERT INTO api_tokens (tenant_id, id, name, role, secret_hash, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, t.ID, t.Name, t.Role, secretHash, t.CreatedBy, t.CreatedAt, nullTime(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

var errTokenNotFound = qm.Errorf(qm.ENotFound, "token not found")

// TokenBySecret returns the token stored under the hash with its tenant's ID.
// ENotFound.
//
// Every API request looks its token up, so found tokens are kept for a few
// seconds: a revocation on this node takes effect at once, on another node
// as its WatchChanges reads it (within credentialTTL if it misses it).
func (s *Identity) TokenBySecret(ctx context.Context, secretHash string) (string, *qm.APIToken, error) {
	now := time.Now()
	e, gen, ok := s.tokens.get(secretHash, now)
	if ok {
		return e.tenantID, &e.token, nil
	}
	var tenantID string
	t, err := scanToken(s.catalog.QueryRow(ctx, `SELECT `+tokenColumns+`, tenant_id FROM api_tokens WHERE secret_hash = $1`, secretHash), &tenantID)
	if err == nil {
		s.tokens.put(secretHash, tokenEntry{tenantID: tenantID, token: *t}, now, gen)
	}
	return tenantID, t, err
}

// Token returns one token of the tenant. ENotFound.
func (s *Identity) Token(ctx context.Context, tenantID, id string) (*qm.APIToken, error) {
	if !sqlstore.ValidID(id) {
		return nil, errTokenNotFound
	}
	return scanToken(s.catalog.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE tenant_id = $1 AND id = $2`, tenantID, id))
}

// Tokens lists the tenant's tokens, newest first.
func (s *Identity) Tokens(ctx context.Context, tenantID string) ([]*qm.APIToken, error) {
	rows, err := s.catalog.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE tenant_id = $1 ORDER BY id DESC`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	ts := []*qm.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// CountLiveTokens counts the tenant's tokens neither revoked nor expired at
// now: those a cap on API tokens counts.
func (s *Identity) CountLiveTokens(ctx context.Context, tenantID string, now time.Time) (n int64, err error) {
	err = s.catalog.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > $2)`, tenantID, sqlstore.Timestamp(now)).Scan(&n)
	return n, err
}

// TouchToken records that a token was used.
func (s *Identity) TouchToken(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := s.catalog.Exec(ctx, `UPDATE api_tokens SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, sqlstore.Timestamp(at))
	s.tokens.clear()
	return err
}

// RevokeToken marks a token of the tenant revoked. ENotFound.
func (s *Identity) RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error {
	if !sqlstore.ValidID(id) {
		return errTokenNotFound
	}
	defer s.tokens.clear()
	return s.tenants.inTx(ctx, func(q sqlstore.Querier) error {
		n, err := q.Exec(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL`,
			tenantID, id, sqlstore.Timestamp(at))
		switch {
		case err != nil:
			return err
		case n == 0:
			return errTokenNotFound
		}
		return s.tenants.publish(ctx, q, changeToken, id, "")
	})
}

func scanToken(r sqlstore.Row, extra ...any) (*qm.APIToken, error) {
	var t qm.APIToken
	var expires, used, revoked sql.NullTime
	err := r.Scan(append([]any{&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &expires, &used, &revoked}, extra...)...)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errTokenNotFound
	case err != nil:
		return nil, fmt.Errorf("get token: %w", err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = sqlstore.TimePtr(expires), sqlstore.TimePtr(used), sqlstore.TimePtr(revoked)
	return &t, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return sqlstore.Timestamp(*t)
}

const memberColumns = `u.id, u.email, u.name, m.role, m.department_id, u.disabled, m.created_at`

// Members lists a tenant's members by email.
func (s *Identity) Members(ctx context.Context, tenantID string) ([]*qm.Member, error) {
	rows, err := s.catalog.Query(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 ORDER BY u.email`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	ms := []*qm.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// Member returns one member of a tenant. ENotFound.
func (s *Identity) Member(ctx context.Context, tenantID, userID string) (*qm.Member, error) {
	if !sqlstore.ValidID(userID) {
		return nil, errMemberNotFound
	}
	return scanMember(s.catalog.QueryRow(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.user_id = $2`, tenantID, userID))
}

// RemoveMembership removes a user from a tenant. ENotFound.
func (s *Identity) RemoveMembership(ctx context.Context, tenantID, userID string) error {
	n, err := s.catalog.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	if err == nil && n == 0 {
		return errMemberNotFound
	}
	return err
}

var errMemberNotFound = qm.Errorf(qm.ENotFound, "member not found")

func scanMember(r sqlstore.Row) (*qm.Member, error) {
	var m qm.Member
	err := r.Scan(&m.UserID, &m.Email, &m.Name, &m.Role, &m.DepartmentID, &m.Disabled, &m.CreatedAt)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errMemberNotFound
	case err != nil:
		return nil, fmt.Errorf("get member: %w", err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return &m, nil
}

// BreakGlass records an operator's time-limited access to a tenant.
func (s *Identity) BreakGlass(ctx context.Context, tenantID, userID, reason string, now, until time.Time) error {
	_, err := s.catalog.Exec(ctx, `INSERT INTO break_glass (tenant_id, user_id, reason, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		tenantID, userID, reason, sqlstore.Timestamp(now), sqlstore.Timestamp(until))
	if err != nil {
		return fmt.Errorf("record break-glass access: %w", err)
	}
	return nil
}

// BrokenGlass reports whether the user holds break-glass access to the tenant
// at now.
func (s *Identity) BrokenGlass(ctx context.Context, tenantID, userID string, now time.Time) (bool, error) {
	var n int
	err := s.catalog.QueryRow(ctx, `SELECT COUNT(*) FROM break_glass WHERE tenant_id = $1 AND user_id = $2 AND expires_at > $3`,
		tenantID, userID, sqlstore.Timestamp(now)).Scan(&n)
	return n > 0, err
}

// CreatePasswordReset stores a one-time password reset for the user under
// the hash of its secret, replacing any the user had.
func (s *Identity) CreatePasswordReset(ctx context.Context, userID, secretHash string, now, expires time.Time) error {
	if _, err := s.catalog.Exec(ctx, `DELETE FROM password_resets WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("replace password reset: %w", err)
	}
	_, err := s.catalog.Exec(ctx, `INSERT INTO password_resets (secret_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		secretHash, userID, sqlstore.Timestamp(now), sqlstore.Timestamp(expires))
	if err != nil {
		return fmt.Errorf("create password reset: %w", err)
	}
	return nil
}

// TakePasswordReset uses up the password reset stored under the hash and
// returns its user's ID. ENotFound for one unknown, used or expired at now.
func (s *Identity) TakePasswordReset(ctx context.Context, secretHash string, now time.Time) (string, error) {
	var userID string
	var expires time.Time
	err := s.catalog.QueryRow(ctx, `SELECT user_id, expires_at FROM password_resets WHERE secret_hash = $1`, secretHash).Scan(&userID, &expires)
	if errors.Is(err, sqlstore.ErrNoRows) {
		return "", qm.Errorf(qm.ENotFound, "no such password reset: it was used, or the link is wrong")
	} else if err != nil {
		return "", fmt.Errorf("get password reset: %w", err)
	}
	// Deleting is what uses it up: of two callers racing with one link,
	// only one deletes the row.
	n, err := s.catalog.Exec(ctx, `DELETE FROM password_resets WHERE secret_hash = $1`, secretHash)
	switch {
	case err != nil:
		return "", fmt.Errorf("use password reset: %w", err)
	case n == 0:
		return "", qm.Errorf(qm.ENotFound, "no such password reset: it was used, or the link is wrong")
	case !now.Before(expires):
		return "", qm.Errorf(qm.ENotFound, "this password reset expired on %s; ask the operator for a new one", expires.UTC().Format(time.RFC3339))
	}
	return userID, nil
}
