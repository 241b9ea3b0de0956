package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/tenancy"
)

// invite answers POST .../members: it makes an invitation, never an
// account. The answer has one shape whether or not the email has an
// account or is a member already.
func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	var body invitationBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Password != nil {
		return &qm.Error{Code: qm.EInvalid, Message: "an invitation sets no password: the person invited chooses their own when accepting",
			Fields: map[string]string{"password": "not allowed: the person invited sets it"}}
	}
	inv, err := s.svc.Invitations.Invite(r.Context(), qm.NewInvitation{Email: body.Email, Role: body.Role, DepartmentID: body.DepartmentID, CheckOut: body.CheckOut})
	return reply(w, http.StatusCreated, inv, err)
}

// operatorInvite lets the operator invite a tenant's first members, such
// as its admin. The invitation lands in the tenant's audit log as the
// operator's.
func (s *Server) operatorInvite(w http.ResponseWriter, r *http.Request) error {
	t, err := s.svc.Tenants.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	return s.invite(w, r.WithContext(tenancy.WithTenant(r.Context(), t)))
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	is, err := s.svc.Invitations.Invitations(r.Context())
	is, page, err := listPage(r, is, err)
	return reply(w, http.StatusOK, invitationList{is, page}, err)
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Invitations.RevokeInvitation(r.Context(), r.PathValue("id")))
}

// lookupInvitation shows the holder of an invitation's link what it offers
// and whether to set a password or sign in.
func (s *Server) lookupInvitation(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Invitations.Lookup(r.Context(), r.PathValue("token"))
	return reply(w, http.StatusOK, v, err)
}

// acceptInvitation accepts an invitation as the signed-in account, or by
// creating the account, which is then signed in.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	signedIn, err := s.optionalSession(r)
	if err != nil {
		return err
	}
	var body acceptRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	a, err := s.svc.Invitations.Accept(r.Context(), r.PathValue("token"), qm.Acceptance{SignedIn: signedIn, Name: body.Name, Password: body.Password})
	if err != nil {
		return err
	}
	res := acceptReply{User: a.User, Tenant: qm.TenantMembership{Slug: a.Tenant.Slug, Name: a.Tenant.Name, Role: a.Role}, AlreadyMember: a.AlreadyMember, CheckedOut: a.CheckedOut}
	if a.Created {
		secret, err := s.cfg.Auth.OpenSession(r.Context(), a.User.ID)
		if err != nil {
			return err
		}
		setSession(w, r, secret)
		res.CSRFToken = auth.CSRFToken(secret)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// optionalSession returns the user of the request's session, or nil when
// it has none that is valid. A session's change must carry its CSRF token,
// here as on every other route.
func (s *Server) optionalSession(r *http.Request) (*qm.User, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	u, err := s.cfg.Auth.SessionUser(r.Context(), c.Value)
	if qm.ErrorCode(err) == qm.EUnauthorized {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if r.Header.Get("X-CSRF-Token") != auth.CSRFToken(c.Value) {
		return nil, qm.Errorf(qm.EForbidden, "missing or wrong X-CSRF-Token header")
	}
	return u, nil
}

// resetPassword sets a password with the secret of the operator's one-time
// reset link; every other session of the account ends, and the caller is
// signed in.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var body resetRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	secret, u, err := s.cfg.Auth.ResetPassword(r.Context(), body.Token, body.Password)
	if err != nil {
		return err
	}
	setSession(w, r, secret)
	writeJSON(w, http.StatusOK, session{User: u, CSRFToken: auth.CSRFToken(secret)})
	return nil
}
