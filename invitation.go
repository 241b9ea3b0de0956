package qm

import (
	"context"
	"time"
)

// InvitationTTL is how long an invitation can be accepted unless the inviter
// says otherwise.
const InvitationTTL = 7 * 24 * time.Hour

// InvitationPrefix starts every invitation's secret.
const InvitationPrefix = "qmi_"

// InvitationPath is the path of the one-time link that carries an
// invitation's secret: whoever holds it may accept the invitation.
func InvitationPath(secret string) string { return "/invite/" + secret }

// Invitation asks a person, named only by email, to join a tenant with a
// role. It is the only way an account joins a tenant: a tenant never creates
// an account, sets its password or learns whether one exists. The person
// consents by opening the link and accepting, as the account with that
// email; only then does a membership exist.
type Invitation struct {
	ID           string     `json:"id"`
	Email        string     `json:"email"`
	Role         string     `json:"role"`
	DepartmentID string     `json:"department_id,omitempty"`
	InvitedBy    string     `json:"invited_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	AcceptedAt   *time.Time `json:"accepted_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	// CheckOut lists assets to check out to the person on acceptance.
	CheckOut []string `json:"check_out,omitempty"`
	// Link is the one-time link, set only in the reply that creates the
	// invitation: only a hash of its secret is kept.
	Link string `json:"link,omitempty"`
	// Mailed says the link was e-mailed to Email, MailError why it could
	// not be, in the reply that creates the invitation, when the operator
	// set a mail server.
	Mailed    bool   `json:"mailed,omitempty"`
	MailError string `json:"mail_error,omitempty"`
}

// InvitationState says where an invitation stands at a given time.
type InvitationState string

// The states of an invitation.
const (
	InvitationPending  InvitationState = "pending"
	InvitationAccepted InvitationState = "accepted"
	InvitationRevoked  InvitationState = "revoked"
	InvitationExpired  InvitationState = "expired"
)

// State returns where the invitation stands at now.
func (i *Invitation) State(now time.Time) InvitationState {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationPending
}

// Usable returns nil when the invitation can still be accepted at now, and
// otherwise ENotFound saying why not, for the holder of its link.
func (i *Invitation) Usable(now time.Time) error {
	switch i.State(now) {
	case InvitationAccepted:
		return Errorf(ENotFound, "this invitation was already used")
	case InvitationRevoked:
		return Errorf(ENotFound, "this invitation was revoked; ask for a new one")
	case InvitationExpired:
		return Errorf(ENotFound, "this invitation expired on %s; ask for a new one", i.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// NewInvitation is what an inviter supplies. There is deliberately no name
// and no password: the invitee chooses those.
type NewInvitation struct {
	Email        string
	Role         string
	DepartmentID string
	// TTL is how long the invitation can be accepted (InvitationTTL).
	TTL time.Duration
	// CheckOut lists assets of the tenant to check out to the person once
	// they accept (the importer's holders who are not members yet). An
	// asset no longer available then is left as it is. Inviting the same
	// email again adds to the list of the invitation it replaces.
	CheckOut []string
}

// MaxInvitationCheckOuts is the most assets one invitation checks out.
const MaxInvitationCheckOuts = 1000

// Validate normalizes the email and checks the fields.
func (n *NewInvitation) Validate() error {
	n.Email = NormalizeEmail(n.Email)
	fields := map[string]string{}
	if err := ValidateEmail(n.Email); err != nil {
		fields["email"] = "not an email address"
	}
	if n.Role == "" {
		fields["role"] = "role is required"
	}
	if n.TTL < 0 || n.TTL > 90*24*time.Hour {
		fields["ttl"] = "an invitation lasts at most 90 days"
	}
	if len(n.CheckOut) > MaxInvitationCheckOuts {
		fields["check_out"] = "at most 1000 assets"
	}
	return fieldsError(fields)
}

// InvitationService manages the invitations of the tenant in scope. Every
// answer is the same whether or not an account exists for the email, or is
// already a member: a tenant learns nothing of people beyond its members.
type InvitationService interface {
	// Invite invites a person, replacing a pending invitation to the same
	// email, and returns the invitation with its Link, shown this once.
	// EInvalid for bad fields, an unknown role or department; EForbidden
	// when the caller's role does not allow users:manage, or does not
	// cover the role offered.
	Invite(ctx context.Context, n NewInvitation) (*Invitation, error)
	// Invitations lists the tenant's invitations that are neither accepted
	// nor revoked, newest first (expired ones included, as such).
	Invitations(ctx context.Context) ([]*Invitation, error)
	// RevokeInvitation revokes a pending invitation. ENotFound; EForbidden
	// when the caller's role does not cover the role it offers.
	RevokeInvitation(ctx context.Context, id string) error
	// Lookup returns what the holder of an invitation's link (its secret)
	// may see of it, with no tenant in scope. ENotFound, saying why, for a
	// link that is unknown, used, revoked or expired.
	Lookup(ctx context.Context, secret string) (*InvitationView, error)
	// Accept accepts an invitation as its link's holder, with no tenant in
	// scope: as a new account, or as the signed-in one. ENotFound, saying
	// why, for a link unknown, used, revoked or expired; EInvalid for a
	// bad password, or when the role or department offered is gone.
	Accept(ctx context.Context, secret string, a Acceptance) (*Accepted, error)
}

// InvitationView is what the holder of an invitation's link sees before
// accepting: to which tenant, as what, and whether to set a password (no
// account has the email yet) or sign in (one has).
type InvitationView struct {
	TenantSlug  string    `json:"tenant_slug"`
	TenantName  string    `json:"tenant_name"`
	Email       string    `json:"email"`
	Role        string    `json:"role"`
	ExpiresAt   time.Time `json:"expires_at"`
	SetPassword bool      `json:"set_password"`
	SignIn      bool      `json:"sign_in"`
}

// Acceptance is how the holder of an invitation's link accepts it: as the
// signed-in account with the invitation's email, or, when no account has
// it, by creating one with Name and Password.
type Acceptance struct {
	// SignedIn is the account of the caller's session, or nil.
	SignedIn *User
	Name     string
	Password string
}

// Accepted is what accepting an invitation did.
type Accepted struct {
	User   *User
	Tenant *Tenant
	// Role is the role the account holds in the tenant now.
	Role string
	// Created says an account was made, so the caller should be signed in
	// as it.
	Created bool
	// AlreadyMember says the account was a member before: the membership
	// is left as it was.
	AlreadyMember bool
	// CheckedOut lists the assets of the invitation's CheckOut now checked
	// out to the account.
	CheckedOut []string
}

// PendingInvitation is an invitation as its invitee sees it in their own
// account, without the link.
type PendingInvitation struct {
	TenantName string    `json:"tenant_name"`
	Role       string    `json:"role"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// TenantMembership is one tenant an account belongs to, as the account sees
// it.
type TenantMembership struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// MayActOn is the one rule for acting on a person or a credential that holds
// a role, and for handing a role out: the principal's permissions must
// include every permission of that role. So nobody grants, changes, removes
// or revokes anything that can do more than they can. The operator and the
// system act as the platform and are not bound by it. It returns EForbidden.
func (p *Principal) MayActOn(target Role) error {
	if p != nil && (p.Kind == PrincipalOperator || p.Kind == PrincipalSystem || p.Role.Covers(target)) {
		return nil
	}
	name := ""
	if p != nil {
		name = p.Role.Name
	}
	return Errorf(EForbidden, "your role %s does not cover the role %s", name, target.Name)
}
