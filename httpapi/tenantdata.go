package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

// listLocations pages the tenant's locations (?parent_id= for one
// location's children) in the one way every list pages. The store reads
// them in chunks of its largest page, all of them, so the total is known.
func (s *Server) listLocations(w http.ResponseWriter, r *http.Request) error {
	f := qm.LocationFilter{ParentID: r.URL.Query().Get("parent_id"), Limit: qm.MaxLocationPage}
	var all []*qm.Location
	for {
		ls, err := s.svc.Locations.Locations(r.Context(), f)
		if err != nil {
			return err
		}
		all = append(all, ls...)
		if len(ls) < f.Limit {
			break
		}
		f.After = ls[len(ls)-1].ID
	}
	ls, page, err := listPage(r, all, nil)
	return reply(w, http.StatusOK, locationList{ls, page}, err)
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request) error {
	var body locationRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	l := &qm.Location{Name: body.Name, ParentID: body.ParentID, Address: body.Address, Notes: body.Notes}
	return reply(w, http.StatusCreated, l, s.svc.Locations.CreateLocation(r.Context(), l))
}

func (s *Server) getLocation(w http.ResponseWriter, r *http.Request) error {
	l, err := s.svc.Locations.Location(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, l, err)
}

func (s *Server) updateLocation(w http.ResponseWriter, r *http.Request) error {
	var u qm.LocationUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	l, err := s.svc.Locations.UpdateLocation(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, l, err)
}

func (s *Server) deleteLocation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Locations.DeleteLocation(r.Context(), r.PathValue("id")))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.svc.Tokens.Tokens(r.Context())
	ts, page, err := listPage(r, ts, err)
	return reply(w, http.StatusOK, tokenList{ts, page}, err)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var body tokenRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	t, secret, err := s.svc.Tokens.CreateToken(r.Context(), qm.NewAPIToken{Name: body.Name, Role: body.Role, ExpiresAt: body.ExpiresAt})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newToken{Token: t, Secret: secret})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Tokens.RevokeToken(r.Context(), r.PathValue("id")))
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := qm.AuditFilter{Action: q.Get("action"), ResourceType: q.Get("resource_type"), ResourceID: q.Get("resource_id"),
		ActorID: q.Get("actor_id"), Before: p.After, Limit: p.Limit + 1}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	entries, err := s.svc.Audit.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []*qm.AuditEntry{}
	}
	total, err := s.svc.Audit.CountAuditLog(r.Context(), f)
	entries, page := storePage(p, entries, total, func(e *qm.AuditEntry) string { return e.ID })
	return reply(w, http.StatusOK, auditPage{entries, page}, err)
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Members.Members(r.Context())
	ms, page, err := listPage(r, ms, err)
	return reply(w, http.StatusOK, memberList{ms, page}, err)
}

// listPeople answers the member directory, which anyone who reads assets
// may read, to name holders and choose whom to check out to.
func (s *Server) listPeople(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.svc.Directory.People(r.Context(), r.URL.Query().Get("q"))
	ps, page, err := listPage(r, ps, err)
	return reply(w, http.StatusOK, personList{ps, page}, err)
}

// operatorBreakGlass gives the operator an hour's read-only access to a
// tenant's data, recorded with its reason in the tenant's audit log.
func (s *Server) operatorBreakGlass(w http.ResponseWriter, r *http.Request) error {
	var body breakGlassRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	t, until, err := s.svc.Tenants.BreakGlass(r.Context(), r.PathValue("tenant"), body.Reason)
	if err != nil {
		return err
	}
	return reply(w, http.StatusCreated, breakGlassReply{Tenant: t.Slug, Role: qm.BreakGlassRole, ExpiresAt: until}, nil)
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) error {
	var u qm.MemberUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	m, err := s.svc.Members.UpdateMember(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, m, err)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Members.RemoveMember(r.Context(), r.PathValue("id")))
}

func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.Departments.Departments(r.Context())
	ds, page, err := listPage(r, ds, err)
	return reply(w, http.StatusOK, departmentList{ds, page}, err)
}

func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request) error {
	var body departmentRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	d := &qm.Department{Name: body.Name, ParentID: body.ParentID}
	return reply(w, http.StatusCreated, d, s.svc.Departments.CreateDepartment(r.Context(), d))
}

func (s *Server) getDepartment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Departments.Department(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) updateDepartment(w http.ResponseWriter, r *http.Request) error {
	var u qm.DepartmentUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	d, err := s.svc.Departments.UpdateDepartment(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Departments.DeleteDepartment(r.Context(), r.PathValue("id")))
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.Roles.Roles(r.Context())
	rs, page, err := listPage(r, rs, err)
	return reply(w, http.StatusOK, roleList{rs, page}, err)
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	var body roleRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	role := qm.Role{Name: body.Name, Permissions: body.Permissions}
	return reply(w, http.StatusCreated, role, s.svc.Roles.CreateRole(r.Context(), role))
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Roles.DeleteRole(r.Context(), r.PathValue("name")))
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.Settings.Settings(r.Context())
	return reply(w, http.StatusOK, gs, err)
}

func (s *Server) setSettings(w http.ResponseWriter, r *http.Request) error {
	var gs qm.GeneralSettings
	if err := decode(r, &gs); err != nil {
		return err
	}
	got, err := s.svc.Settings.SetSettings(r.Context(), gs)
	return reply(w, http.StatusOK, got, err)
}
