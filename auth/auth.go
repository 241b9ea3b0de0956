// Package auth authenticates callers: users by email and password (with
// throttling and sessions), API tokens, and the principal each holds in a
// tenant. It knows nothing of HTTP; the HTTP edge calls it and puts what it
// returns into the request's context.
package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/throttle"
)

// SessionPrefix starts every session secret.
const SessionPrefix = "qms_"

// Config configures an Authenticator.
type Config struct {
	Identity qm.Credentials
	Tenants  qm.TenantService
	// Devices checks device credentials.
	Devices qm.DeviceCredentials
	// Limiter throttles failed sign-ins per account and per client address.
	Limiter *throttle.Limiter
	// SessionTTL is how long a session lasts (12 hours).
	SessionTTL time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Passwords are the parameters new password hashes are made with
	// (password.Default); a hash made with others is made again at its
	// owner's next sign-in. Tests use cheap ones.
	Passwords password.Params
}

// Authenticator checks credentials.
type Authenticator struct {
	cfg Config
	// dummy is what an unknown email's password is checked against, made
	// with cfg.Passwords so it costs what a real account's check does.
	dummy func() string
}

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limiter == nil {
		cfg.Limiter = throttle.New(throttle.Config{Now: cfg.Now})
	}
	if cfg.Passwords == (password.Params{}) {
		cfg.Passwords = password.Default
	}
	dummy := password.Dummy
	if cfg.Passwords != password.Default {
		dummy = sync.OnceValue(func() string { return password.DummyWith(cfg.Passwords) })
	}
	return &Authenticator{cfg: cfg, dummy: dummy}
}

// HashPassword hashes a new password with the server's parameters.
func (a *Authenticator) HashPassword(pw string) (string, error) {
	return password.HashWith(a.cfg.Passwords, pw)
}

// ErrBadLogin is the one answer to a failed sign-in, whatever failed: an
// unknown email, a wrong password or a disabled user look the same.
var ErrBadLogin = qm.Errorf(qm.EUnauthorized, "email or password is wrong")

var errUnauthenticated = qm.Errorf(qm.EUnauthorized, "sign in or present an API token")

// Login checks an email and password, and opens a session, returning its
// secret. Failures are throttled per account and per client address; an
// unknown email costs the same time as a wrong password.
func (a *Authenticator) Login(ctx context.Context, email, pw, clientAddr string) (string, *qm.User, error) {
	email = qm.NormalizeEmail(email)
	keys := []string{"account:" + email, "addr:" + clientAddr}
	if wait, ok := a.cfg.Limiter.Allow(keys...); !ok {
		return "", nil, qm.Errorf(qm.ERateLimited, "too many failed sign-ins: try again in %v", wait.Round(time.Second))
	}
	u, hash, err := a.cfg.Identity.UserByEmail(ctx, email)
	if err != nil && qm.ErrorCode(err) != qm.ENotFound {
		return "", nil, err
	}
	if u == nil {
		hash = a.dummy()
	}
	ok, _ := password.Verify(hash, pw)
	if u == nil || !ok || u.Disabled {
		a.cfg.Limiter.Fail(keys...)
		return "", nil, ErrBadLogin
	}
	// Only the account is cleared: clearing the address too would let one
	// who owns an account reset its count between guesses at others.
	a.cfg.Limiter.Succeed(keys[0])
	if password.NeedsRehashWith(a.cfg.Passwords, hash) {
		if h, err := a.HashPassword(pw); err == nil {
			a.cfg.Identity.SetPassword(ctx, u.ID, h)
		}
	}
	secret, err := a.OpenSession(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	now := a.cfg.Now()
	if err := a.cfg.Identity.RecordLogin(ctx, u.ID, now); err != nil {
		return "", nil, fmt.Errorf("record login: %w", err)
	}
	u.LastLoginAt = &now
	return secret, u, nil
}

// OpenSession signs the user in, returning the new session's secret. Call it
// only for one who has just proved to be the user: by a password, or by
// accepting an invitation with the account's one-time link.
func (a *Authenticator) OpenSession(ctx context.Context, userID string) (string, error) {
	now := a.cfg.Now()
	secret := qm.NewSecret(SessionPrefix)
	err := a.cfg.Identity.CreateSession(ctx, qm.HashSecret(secret), qm.Session{UserID: userID, CreatedAt: now, ExpiresAt: now.Add(a.cfg.SessionTTL)})
	return secret, err
}

// Logout ends the session with the secret, if there is one.
func (a *Authenticator) Logout(ctx context.Context, secret string) error {
	return a.cfg.Identity.DeleteSession(ctx, qm.HashSecret(secret))
}

// SessionUser returns the user of the session with the secret.
// EUnauthorized for an unknown or expired session or a disabled user.
func (a *Authenticator) SessionUser(ctx context.Context, secret string) (*qm.User, error) {
	if !strings.HasPrefix(secret, SessionPrefix) {
		return nil, errUnauthenticated
	}
	sess, err := a.cfg.Identity.Session(ctx, qm.HashSecret(secret), a.cfg.Now())
	if qm.ErrorCode(err) == qm.ENotFound {
		return nil, errUnauthenticated
	} else if err != nil {
		return nil, err
	}
	u, err := a.cfg.Identity.UserByID(ctx, sess.UserID)
	if qm.ErrorCode(err) == qm.ENotFound || err == nil && u.Disabled {
		return nil, errUnauthenticated
	}
	return u, err
}

// CSRFToken returns the token a session's state-changing requests must
// carry. It is derived from the session's secret, so it needs no storage and
// changes with the session.
func CSRFToken(sessionSecret string) string {
	return qm.HashSecret("csrf:" + sessionSecret)
}

// touchEvery is how often a token's last-used time is written: often enough
// to be useful, rarely enough to keep writes off the request path.
const touchEvery = time.Minute

// Token returns the tenant an API token is bound to and the principal it
// acts as. EUnauthorized for an unknown, revoked or expired token.
func (a *Authenticator) Token(ctx context.Context, secret string) (*qm.Tenant, *qm.Principal, error) {
	if !strings.HasPrefix(secret, qm.TokenPrefix) {
		return nil, nil, errUnauthenticated
	}
	tenantID, tok, err := a.cfg.Identity.TokenBySecret(ctx, qm.HashSecret(secret))
	if qm.ErrorCode(err) == qm.ENotFound {
		return nil, nil, errUnauthenticated
	} else if err != nil {
		return nil, nil, err
	}
	now := a.cfg.Now()
	if tok.RevokedAt != nil || tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return nil, nil, qm.Errorf(qm.EUnauthorized, "the API token is revoked or expired")
	}
	t, err := a.cfg.Tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	role, err := a.cfg.Identity.Role(ctx, tenantID, tok.Role)
	if err != nil {
		return nil, nil, fmt.Errorf("token %s: role %q: %w", tok.ID, tok.Role, err)
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchEvery {
		if err := a.cfg.Identity.TouchToken(ctx, tenantID, tok.ID, now); err != nil {
			return nil, nil, fmt.Errorf("record token use: %w", err)
		}
	}
	return t, &qm.Principal{Kind: qm.PrincipalToken, ID: tok.ID, Name: "token " + tok.Name, Role: role}, nil
}

// Member returns the principal user u holds in tenant t. ENotFound when u
// is not a member: to the caller, a tenant it does not belong to does not
// exist. An operator with break-glass access reads as the operator.
func (a *Authenticator) Member(ctx context.Context, u *qm.User, t *qm.Tenant) (*qm.Principal, error) {
	m, err := a.cfg.Identity.Membership(ctx, t.ID, u.ID)
	if qm.ErrorCode(err) == qm.ENotFound {
		if u.Operator {
			if ok, err := a.cfg.Identity.BrokenGlass(ctx, t.ID, u.ID, a.cfg.Now()); err != nil || ok {
				return &qm.Principal{Kind: qm.PrincipalOperator, ID: u.ID, Name: u.Email, Role: qm.BreakGlassRole}, err
			}
		}
		return nil, qm.Errorf(qm.ENotFound, "tenant not found")
	} else if err != nil {
		return nil, err
	}
	role, err := a.cfg.Identity.Role(ctx, t.ID, m.Role)
	if err != nil {
		return nil, fmt.Errorf("membership of %s in %s: role %q: %w", u.Email, t.Slug, m.Role, err)
	}
	if m.DepartmentID != "" {
		role = role.Confined()
	}
	return &qm.Principal{Kind: qm.PrincipalUser, ID: u.ID, Name: u.Email, Role: role, DepartmentID: m.DepartmentID}, nil
}

// Operator returns the operator principal of u. EForbidden when u is not an
// operator.
func Operator(u *qm.User) (*qm.Principal, error) {
	if !u.Operator {
		return nil, qm.Errorf(qm.EForbidden, "this needs the operator")
	}
	return &qm.Principal{Kind: qm.PrincipalOperator, ID: u.ID, Name: u.Email}, nil
}

// ChangePassword replaces u's password after checking the current one, ends
// every session of u, and opens a new one, returning its secret.
func (a *Authenticator) ChangePassword(ctx context.Context, u *qm.User, current, next string) (string, error) {
	_, hash, err := a.cfg.Identity.UserByEmail(ctx, u.Email)
	if err != nil {
		return "", err
	}
	if ok, _ := password.Verify(hash, current); !ok {
		return "", &qm.Error{Code: qm.EForbidden, Message: "the current password is wrong", Fields: map[string]string{"current_password": "wrong"}}
	}
	return a.setPassword(ctx, u.ID, next)
}

// setPassword sets the user's password, ends every session of the user, and
// opens a new one, returning its secret. EInvalid for a bad password.
func (a *Authenticator) setPassword(ctx context.Context, userID, next string) (string, error) {
	if err := qm.ValidatePassword(next); err != nil {
		return "", err
	}
	newHash, err := a.HashPassword(next)
	if err != nil {
		return "", err
	}
	if err := a.cfg.Identity.SetPassword(ctx, userID, newHash); err != nil {
		return "", err
	}
	if err := a.cfg.Identity.DeleteSessions(ctx, userID); err != nil {
		return "", err
	}
	return a.OpenSession(ctx, userID)
}

// ResetPrefix starts every password reset's secret.
const ResetPrefix = "qmr_"

// ResetFor is how long a password reset link lasts.
const ResetFor = 24 * time.Hour

// ResetPath is the path of the one-time link that carries a password
// reset's secret.
func ResetPath(secret string) string { return "/reset-password/" + secret }

// IssueReset makes a one-time password reset for the account with the
// email, replacing any earlier one, and returns its secret and expiry. Only
// the operator may call it (the command line does): the link goes to the
// account's owner, who alone sets the password. ENotFound.
func (a *Authenticator) IssueReset(ctx context.Context, email string) (string, time.Time, error) {
	u, _, err := a.cfg.Identity.UserByEmail(ctx, qm.NormalizeEmail(email))
	if err != nil {
		return "", time.Time{}, err
	}
	now := a.cfg.Now()
	secret := qm.NewLinkSecret(ResetPrefix)
	expires := now.Add(ResetFor)
	return secret, expires, a.cfg.Identity.CreatePasswordReset(ctx, u.ID, qm.HashSecret(secret), now, expires)
}

// ResetPassword sets the password of the account a reset's secret was
// issued for, uses the reset up, ends every session of the account and
// opens a new one, returning its secret and the user. ENotFound for a
// secret unknown, used or expired; EInvalid for a bad password (the reset
// stays usable).
func (a *Authenticator) ResetPassword(ctx context.Context, secret, next string) (string, *qm.User, error) {
	if err := qm.ValidatePassword(next); err != nil {
		return "", nil, err
	}
	if !strings.HasPrefix(secret, ResetPrefix) {
		return "", nil, qm.Errorf(qm.ENotFound, "no such password reset: it was used, or the link is wrong")
	}
	userID, err := a.cfg.Identity.TakePasswordReset(ctx, qm.HashSecret(secret), a.cfg.Now())
	if err != nil {
		return "", nil, err
	}
	u, err := a.cfg.Identity.UserByID(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	session, err := a.setPassword(ctx, userID, next)
	return session, u, err
}

// DeviceToken returns the device a device credential belongs to, the
// tenant holding it, and the principal it acts as. EUnauthorized for a
// credential that is unknown or was rotated; EForbidden for a device no
// tenant holds; ETenantInert for a tenant that is not active.
func (a *Authenticator) DeviceToken(ctx context.Context, secret string) (*qm.Device, *qm.Tenant, *qm.Principal, error) {
	if !strings.HasPrefix(secret, qm.DeviceTokenPrefix) {
		return nil, nil, nil, qm.Errorf(qm.EUnauthorized, "present the device's token")
	}
	d, err := a.cfg.Devices.DeviceByToken(ctx, secret)
	if err != nil {
		return nil, nil, nil, err
	}
	t, p, err := a.device(ctx, d)
	return d, t, p, err
}

// ErrDeviceKey is the error (in the chain) when a device that names itself
// presents a key that is not its own, or none when it must.
var ErrDeviceKey = qm.Errorf(qm.EUnauthorized, "the device's key is missing or wrong")

// DeviceKey is DeviceToken for protocols in which a device names itself
// (OsmAnd): key must be the token of the device named ident, or "" for a
// device the operator marked ident-only. ErrDeviceKey for a wrong or
// missing key; otherwise as DeviceToken, with ENotFound for an unknown
// ident. The edge must answer every refusal alike, so that outsiders
// cannot tell which idents exist.
func (a *Authenticator) DeviceKey(ctx context.Context, ident, key string) (*qm.Device, *qm.Tenant, *qm.Principal, error) {
	var d *qm.Device
	var err error
	if key == "" {
		d, err = a.cfg.Devices.DeviceByIdent(ctx, ident)
		if err == nil && !d.IdentOnly {
			err = ErrDeviceKey
		}
	} else {
		d, err = a.cfg.Devices.DeviceByToken(ctx, key)
		if qm.ErrorCode(err) == qm.EUnauthorized || err == nil && d.Ident != ident {
			err = ErrDeviceKey
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	t, p, err := a.device(ctx, d)
	return d, t, p, err
}

// DeviceIdent is DeviceToken for a device another party authenticated: an
// external MQTT broker, whose access rules let only the device named
// ident publish on its topics, hands on what it published under the
// ident. ENotFound for an unknown ident; otherwise as DeviceToken.
func (a *Authenticator) DeviceIdent(ctx context.Context, ident string) (*qm.Device, *qm.Tenant, *qm.Principal, error) {
	d, err := a.cfg.Devices.DeviceByIdent(ctx, ident)
	if err != nil {
		return nil, nil, nil, err
	}
	t, p, err := a.device(ctx, d)
	return d, t, p, err
}

// AsDevice returns the tenant holding d and the principal d acts as, as
// DeviceToken does once it has found d: for a part of the server that acts
// for a device it did not hear from (the broker, passing on the settings
// another node changed). EForbidden for a device no tenant holds; as
// DeviceToken for a tenant that is not active.
func (a *Authenticator) AsDevice(ctx context.Context, d *qm.Device) (*qm.Tenant, *qm.Principal, error) {
	return a.device(ctx, d)
}

func (a *Authenticator) device(ctx context.Context, d *qm.Device) (*qm.Tenant, *qm.Principal, error) {
	if d.TenantID == "" {
		return nil, nil, qm.Errorf(qm.EForbidden, "device %s is not assigned to a tenant", d.Ident)
	}
	t, err := a.cfg.Tenants.TenantByID(ctx, d.TenantID)
	if err != nil {
		return nil, nil, err
	}
	if t.State == qm.StateMoving {
		return nil, nil, qm.Moving(t)
	}
	if t.State != qm.StateActive {
		return nil, nil, qm.Errorf(qm.ETenantInert, "the tenant of device %s is %s", d.Ident, t.State)
	}
	return t, &qm.Principal{Kind: qm.PrincipalDevice, ID: d.ID, Name: "device " + d.Ident}, nil
}
