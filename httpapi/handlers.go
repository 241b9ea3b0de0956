package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/tenancy"
)

// healthz answers while the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, statusReply{"ok"})
	return nil
}

// readyz answers 200 when storage is reachable and migrated, 503 (in the
// one error shape) otherwise. The reason is logged, not shown: it may name
// hosts and databases.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		return qm.Errorf(qm.EUnavailable, "storage is not ready")
	}
	writeJSON(w, http.StatusOK, statusReply{"ready"})
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var body loginRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	secret, u, err := s.cfg.Auth.Login(r.Context(), body.Email, body.Password, clientAddr(r))
	if err != nil {
		return err
	}
	// A new session at every sign-in: a session id planted before it is
	// worth nothing after.
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.cfg.Auth.Logout(r.Context(), old.Value)
	}
	setSession(w, r, secret)
	writeJSON(w, http.StatusOK, session{User: u, CSRFToken: auth.CSRFToken(secret)})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if r.Header.Get("X-CSRF-Token") != auth.CSRFToken(c.Value) {
			return qm.Errorf(qm.EForbidden, "missing or wrong X-CSRF-Token header")
		}
		if err := s.cfg.Auth.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	setSession(w, r, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword replaces the signed-in user's password; every session of
// the user ends, and the caller gets a new one.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if c.user == nil {
		return qm.Errorf(qm.EForbidden, "an API token has no password; sign in to change yours")
	}
	var body passwordRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	secret, err := s.cfg.Auth.ChangePassword(r.Context(), c.user, body.Current, body.New)
	if err != nil {
		return err
	}
	setSession(w, r, secret)
	return reply(w, http.StatusOK, session{User: c.user, CSRFToken: auth.CSRFToken(secret)}, nil)
}

// setSession sets (or, with "", clears) the session cookie.
func setSession(w http.ResponseWriter, r *http.Request, secret string) {
	c := &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}
	if secret == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r)
	if c.tokenPrincipal != nil {
		v := tenantView(c.tokenTenant)
		return reply(w, http.StatusOK, meReply{Principal: c.tokenPrincipal, Tenant: &v}, nil)
	}
	ts, err := s.svc.Accounts.TenantsOf(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	is, err := s.svc.Accounts.PendingInvitations(r.Context(), c.user.Email, s.cfg.Now())
	return reply(w, http.StatusOK, meReply{User: c.user, CSRFToken: auth.CSRFToken(c.session), Tenants: ts, Invitations: is}, err)
}

func tenantView(t *qm.Tenant) ownTenantView {
	return ownTenantView{ID: t.ID, Slug: t.Slug, Name: t.Name, Tier: t.Tier, State: t.State, SchemaVersion: t.SchemaVersion, CreatedAt: t.CreatedAt}
}

func (s *Server) ownTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := tenancy.FromContext(r.Context())
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, tenantHome{tenantView(t), tenancy.PrincipalFrom(r.Context()), t.Limits}, nil)
}

func (s *Server) operatorTenants(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.svc.Tenants.Tenants(r.Context())
	ts, page, err := listPage(r, ts, err)
	if err != nil {
		return err
	}
	views, err := s.tenantViews(r, ts)
	return reply(w, http.StatusOK, tenantList{Tenants: views, pageInfo: page, LatestSchemaVersion: s.cfg.LatestSchemaVersion}, err)
}

// tenantViews tells, of each of ts, what it holds, what it used and how
// it is doing. Read for a page only: reading each tenant's data is the cost.
func (s *Server) tenantViews(r *http.Request, ts []*qm.Tenant) ([]operatorTenant, error) {
	as, err := s.svc.Tenants.Activity(r.Context(), ts)
	if err != nil {
		return nil, err
	}
	us, err := s.svc.Usage.Use(r.Context(), ts)
	if err != nil {
		return nil, err
	}
	views := make([]operatorTenant, len(ts))
	for i, t := range ts {
		views[i] = operatorTenant{t, as[i], us[i], qm.Caps(t, as[i]), qm.AssessHealth(t, as[i], us[i], s.cfg.LatestSchemaVersion)}
	}
	return views, nil
}

func (s *Server) operatorCreateTenant(w http.ResponseWriter, r *http.Request) error {
	var body tenantRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Tier == "" {
		body.Tier = qm.TierPool
	}
	t, err := s.svc.Tenants.CreateTenant(r.Context(), qm.NewTenant{Slug: body.Slug, Name: body.Name, Tier: body.Tier, Server: body.Server})
	return reply(w, http.StatusCreated, t, err)
}

func (s *Server) operatorTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.svc.Tenants.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	views, err := s.tenantViews(r, []*qm.Tenant{t})
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, operatorTenantDetail{views[0], s.cfg.LatestSchemaVersion}, nil)
}

func (s *Server) operatorSuspend(w http.ResponseWriter, r *http.Request) error {
	return s.setState(w, r, qm.StateSuspended)
}

func (s *Server) operatorResume(w http.ResponseWriter, r *http.Request) error {
	return s.setState(w, r, qm.StateActive)
}

func (s *Server) setState(w http.ResponseWriter, r *http.Request, state qm.TenantState) error {
	t, err := s.svc.Tenants.SetState(r.Context(), r.PathValue("tenant"), state)
	return reply(w, http.StatusOK, t, err)
}

// timeParam reads an optional RFC 3339 time query parameter.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, qm.Errorf(qm.EBadRequest, "%s must be an RFC 3339 time, got %q", name, v)
	}
	return t, nil
}
