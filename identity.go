package qm

import (
	"context"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// User is a person who signs in. Users live in the catalog; what they may do
// in a tenant comes from their membership there.
type User struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Operator    bool       `json:"operator"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
}

// NormalizeEmail returns the address as stored and compared: trimmed and
// lower case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail reports whether s is a plain email address.
func ValidateEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return Errorf(EInvalid, "%q is not an email address", s)
	}
	return nil
}

// Limits on passwords, in bytes.
const (
	MinPassword = 10
	MaxPassword = 1024
)

// ValidatePassword reports whether a new password is long enough and not
// absurdly long.
func ValidatePassword(pw string) error {
	switch {
	case len(pw) < MinPassword:
		return &Error{Code: EInvalid, Message: "password must be at least 10 characters", Fields: map[string]string{"password": "too short"}}
	case len(pw) > MaxPassword:
		return &Error{Code: EInvalid, Message: "password must be at most 1024 bytes", Fields: map[string]string{"password": "too long"}}
	}
	return nil
}

// Permission is one thing a tenant role may allow.
type Permission string

// The permissions tenant roles are made of.
const (
	PermAssetsRead     Permission = "assets:read"     // read assets, models, locations
	PermAssetsWrite    Permission = "assets:write"    // change assets, models, locations
	PermDevicesRead    Permission = "devices:read"    // read devices, telemetry, alerts
	PermDevicesWrite   Permission = "devices:write"   // change devices and alerts
	PermUsersManage    Permission = "users:manage"    // add, change and remove members; roles; departments
	PermSettingsManage Permission = "settings:manage" // change the tenant's settings
	PermAuditRead      Permission = "audit:read"      // read the audit log
	PermTokensManage   Permission = "tokens:manage"   // create and revoke API tokens
)

// Permissions lists every permission.
var Permissions = []Permission{
	PermAssetsRead, PermAssetsWrite, PermDevicesRead, PermDevicesWrite,
	PermUsersManage, PermSettingsManage, PermAuditRead, PermTokensManage,
}

// Role is a named set of permissions within a tenant.
type Role struct {
	Name        string       `json:"name"`
	Permissions []Permission `json:"permissions"`
	BuiltIn     bool         `json:"built_in"`
}

// Allows reports whether the role grants p.
func (r Role) Allows(p Permission) bool { return slices.Contains(r.Permissions, p) }

// DepartmentPermissions are the permissions a member confined to a
// department may hold: to work on the assets and devices of its subtree.
// What the whole tenant shares (its people, roles, settings, API tokens and
// audit log, which records every department) is for members of the whole
// tenant.
var DepartmentPermissions = []Permission{PermAssetsRead, PermAssetsWrite, PermDevicesRead, PermDevicesWrite}

// Confined returns r as a member confined to a department holds it: with
// only those of its permissions that are DepartmentPermissions.
func (r Role) Confined() Role {
	c := r
	c.Permissions = slices.DeleteFunc(slices.Clone(r.Permissions), func(p Permission) bool { return !slices.Contains(DepartmentPermissions, p) })
	return c
}

// Covers reports whether r grants everything other grants: a role may only
// be handed out, or made, by someone whose role covers it.
func (r Role) Covers(other Role) bool {
	for _, p := range other.Permissions {
		if !r.Allows(p) {
			return false
		}
	}
	return true
}

// The built-in roles every tenant has.
var BuiltInRoles = []Role{
	{Name: "owner", BuiltIn: true, Permissions: Permissions},
	{Name: "admin", BuiltIn: true, Permissions: Permissions},
	{Name: "manager", BuiltIn: true, Permissions: []Permission{PermAssetsRead, PermAssetsWrite, PermDevicesRead, PermDevicesWrite, PermAuditRead}},
	{Name: "technician", BuiltIn: true, Permissions: []Permission{PermAssetsRead, PermAssetsWrite, PermDevicesRead, PermDevicesWrite}},
	{Name: "viewer", BuiltIn: true, Permissions: []Permission{PermAssetsRead, PermDevicesRead}},
}

// BreakGlassFor is how long break-glass access lasts.
const BreakGlassFor = time.Hour

// BreakGlassRole is what an operator holds in a tenant during break-glass
// access: reading, never changing.
var BreakGlassRole = Role{Name: "break-glass", BuiltIn: true, Permissions: []Permission{PermAssetsRead, PermDevicesRead, PermAuditRead}}

// BuiltInRole returns the built-in role with the given name.
func BuiltInRole(name string) (Role, bool) {
	for _, r := range BuiltInRoles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// PrincipalKind says what kind of caller a principal is.
type PrincipalKind string

// Kinds of principal.
const (
	PrincipalUser     PrincipalKind = "user"     // a signed-in member of the tenant
	PrincipalToken    PrincipalKind = "token"    // an API token bound to one tenant
	PrincipalOperator PrincipalKind = "operator" // the platform's operator
	PrincipalSystem   PrincipalKind = "system"   // the server itself, or its command line
	PrincipalDevice   PrincipalKind = "device"   // a device reporting telemetry
)

// Principal is who a request acts as: set once at the edge, with the role it
// holds in the tenant in scope.
type Principal struct {
	Kind PrincipalKind `json:"kind"`
	// ID is the user's or token's id.
	ID string `json:"id"`
	// Name is what the audit log shows: an email or a token's name.
	Name string `json:"name"`
	// Role is the role held in the tenant in scope (empty for operators).
	Role Role `json:"role"`
	// DepartmentID, when set, confines a user to that department and its
	// descendants.
	DepartmentID string `json:"department_id,omitempty"`
}

// Can reports whether the principal holds p in the tenant in scope.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.Role.Allows(perm) }

// APIToken is a credential bound to one tenant and a role. The secret is
// shown once, at creation, and stored only as a hash.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewAPIToken is what a caller supplies to create a token.
type NewAPIToken struct {
	Name      string
	Role      string
	ExpiresAt *time.Time
}

// Validate checks the fields.
func (n NewAPIToken) Validate() error {
	fields := map[string]string{}
	if name := strings.TrimSpace(n.Name); name == "" || len(name) > 100 {
		fields["name"] = "name is required, at most 100 characters"
	}
	if n.Role == "" {
		fields["role"] = "role is required"
	}
	return fieldsError(fields)
}

// TokenService manages the API tokens of the tenant in scope.
type TokenService interface {
	// CreateToken creates a token and returns it with its secret, shown
	// this once. EInvalid for bad fields or an unknown role.
	CreateToken(ctx context.Context, n NewAPIToken) (*APIToken, string, error)
	// Tokens lists the tenant's tokens, newest first.
	Tokens(ctx context.Context) ([]*APIToken, error)
	// RevokeToken revokes a token. ENotFound; EForbidden when the
	// caller's role does not cover the token's.
	RevokeToken(ctx context.Context, id string) error
}

// Membership is a user's place in one tenant: a role, and optionally a
// department the user is confined to.
type Membership struct {
	TenantID     string    `json:"tenant_id"`
	UserID       string    `json:"user_id"`
	Role         string    `json:"role"`
	DepartmentID string    `json:"department_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Session is a signed-in user's session. Only a hash of its secret is kept.
type Session struct {
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Member is a user as a tenant's admins see it: identity and membership.
type Member struct {
	UserID       string    `json:"user_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	DepartmentID string    `json:"department_id,omitempty"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
}

// MemberUpdate changes a member's role or department; nil leaves it.
type MemberUpdate struct {
	Role         *string `json:"role"`
	DepartmentID *string `json:"department_id"`
}

// MemberService manages the members of the tenant in scope. People join
// only by accepting an invitation (InvitationService). The caller may hand
// out, change or remove only roles its own role covers (Principal.MayActOn).
// A change here touches the membership in this tenant only: the person's
// sessions, and their access to other tenants, are left as they are.
type MemberService interface {
	// Members lists the tenant's members by email.
	Members(ctx context.Context) ([]*Member, error)
	// UpdateMember changes a member. ENotFound, EInvalid, EForbidden.
	UpdateMember(ctx context.Context, userID string, u MemberUpdate) (*Member, error)
	// RemoveMember removes a member from the tenant. ENotFound, EForbidden.
	RemoveMember(ctx context.Context, userID string) error
}

// Person is a member of the tenant as anyone who works with its assets
// sees them: who they are and whether their account is disabled. Their
// role and department are for those who manage people (Member).
type Person struct {
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Disabled bool   `json:"disabled"`
}

// MemberDirectory names the tenant's people to whoever may read its assets:
// the holder of an asset or a license seat, and the choices of who to check
// one out to. People are the whole tenant's, so a member confined to a
// department reads every one of them.
type MemberDirectory interface {
	// People lists the tenant's members by name, then email; when q is not
	// empty, only those whose name or email holds it, in any case.
	People(ctx context.Context, q string) ([]*Person, error)
}

// ValidateRole checks a custom role: a lowercase name of 2 to 63 letters,
// digits and hyphens that is not a built-in role's, and known permissions.
func ValidateRole(r Role) error {
	fields := map[string]string{}
	if err := validateName(r.Name, 2); err != nil {
		fields["name"] = ErrorMessage(err)
	} else if _, ok := BuiltInRole(r.Name); ok {
		fields["name"] = r.Name + " is a built-in role"
	}
	if len(r.Permissions) == 0 {
		fields["permissions"] = "a role needs at least one permission"
	}
	for _, p := range r.Permissions {
		if !slices.Contains(Permissions, p) {
			fields["permissions"] = "unknown permission " + string(p)
		}
	}
	return fieldsError(fields)
}

// RoleService manages the roles of the tenant in scope.
type RoleService interface {
	// Roles lists the built-in roles, then the tenant's own by name.
	Roles(ctx context.Context) ([]Role, error)
	// CreateRole adds a custom role. EInvalid; EForbidden when it would
	// grant more than the caller holds; EConflict when the name is taken.
	CreateRole(ctx context.Context, r Role) error
	// DeleteRole removes a custom role. ENotFound; EConflict while a member
	// or token holds it.
	DeleteRole(ctx context.Context, name string) error
}

// TokenPrefix starts every API token's secret.
const TokenPrefix = "qmt_"

// DeviceTokenPrefix starts every device credential, so secret scanners can
// recognise a leaked one.
const DeviceTokenPrefix = "qmd_"

// Credentials is the catalog of accounts, sessions, password resets, API
// tokens and memberships, as authentication reads and writes it: one
// account for many tenants, so an edge between them (see ARCHITECTURE §3).
type Credentials interface {
	// UserByEmail returns the account with email and its password hash.
	// ENotFound.
	UserByEmail(ctx context.Context, email string) (*User, string, error)
	// UserByID returns an account. ENotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// SetPassword replaces an account's password hash.
	SetPassword(ctx context.Context, userID, passwordHash string) error
	// RecordLogin records a sign-in at at.
	RecordLogin(ctx context.Context, userID string, at time.Time) error
	// CreateSession stores a session under the hash of its secret.
	CreateSession(ctx context.Context, secretHash string, s Session) error
	// Session returns the session stored under the hash, unless expired at
	// now. ENotFound.
	Session(ctx context.Context, secretHash string, now time.Time) (*Session, error)
	// DeleteSession ends one session; DeleteSessions every session of an
	// account.
	DeleteSession(ctx context.Context, secretHash string) error
	DeleteSessions(ctx context.Context, userID string) error
	// CreatePasswordReset stores a reset of an account's password under the
	// hash of its secret; TakePasswordReset uses it up and returns the
	// account's id. ENotFound.
	CreatePasswordReset(ctx context.Context, userID, secretHash string, now, expires time.Time) error
	TakePasswordReset(ctx context.Context, secretHash string, now time.Time) (string, error)
	// TokenBySecret returns the tenant id and the API token stored under
	// the hash of its secret. ENotFound.
	TokenBySecret(ctx context.Context, secretHash string) (string, *APIToken, error)
	// TouchToken records that a token was used at at.
	TouchToken(ctx context.Context, tenantID, id string, at time.Time) error
	// Membership returns an account's membership of a tenant. ENotFound.
	Membership(ctx context.Context, tenantID, userID string) (*Membership, error)
	// Role returns a tenant's role, built in or its own. ENotFound.
	Role(ctx context.Context, tenantID, name string) (Role, error)
	// BrokenGlass reports whether an operator has break-glass access to a
	// tenant at now.
	BrokenGlass(ctx context.Context, tenantID, userID string, now time.Time) (bool, error)
}

// DeviceCredentials finds devices by the credentials they present.
type DeviceCredentials interface {
	// DeviceByToken returns the device whose credential token is. ENotFound.
	DeviceByToken(ctx context.Context, token string) (*Device, error)
	// DeviceByIdent returns the device with ident. ENotFound.
	DeviceByIdent(ctx context.Context, ident string) (*Device, error)
}
