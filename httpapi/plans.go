package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

// planRequest makes a plan.
type planRequest struct {
	Name   string      `json:"name"`
	Limits qm.LimitSet `json:"limits"`
}

// limitsChange sets some limits and removes others (which then come from
// below: a plan's from the defaults, a tenant's from its plan).
type limitsChange struct {
	Set   qm.LimitSet `json:"set"`
	Unset []string    `json:"unset"`
}

// tenantLimitsChange moves a tenant to another plan, changes its
// overrides, or both.
type tenantLimitsChange struct {
	Plan string `json:"plan,omitempty"`
	limitsChange
}

// planList is a page of plans.
type planList struct {
	Plans []*qm.Plan `json:"plans"`
	pageInfo
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.svc.Plans.Plans(r.Context())
	ps, page, err := listPage(r, ps, err)
	return reply(w, http.StatusOK, planList{ps, page}, err)
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	var b planRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	p := &qm.Plan{Name: b.Name, Limits: b.Limits}
	return reply(w, http.StatusCreated, p, s.svc.Plans.CreatePlan(r.Context(), p))
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Plans.Plan(r.Context(), r.PathValue("plan"))
	return reply(w, http.StatusOK, p, err)
}

func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var b limitsChange
	if err := decode(r, &b); err != nil {
		return err
	}
	p, err := s.svc.Plans.UpdatePlan(r.Context(), r.PathValue("plan"), b.Set, b.Unset)
	return reply(w, http.StatusOK, p, err)
}

func (s *Server) tenantLimits(w http.ResponseWriter, r *http.Request) error {
	tl, err := s.svc.Plans.TenantLimits(r.Context(), r.PathValue("tenant"))
	return reply(w, http.StatusOK, tl, err)
}

// changeTenantLimits moves the tenant to the plan named (if one is), then
// changes its overrides (if asked to).
func (s *Server) changeTenantLimits(w http.ResponseWriter, r *http.Request) error {
	var b tenantLimitsChange
	if err := decode(r, &b); err != nil {
		return err
	}
	slug := r.PathValue("tenant")
	if b.Plan != "" {
		if _, err := s.svc.Plans.SetTenantPlan(r.Context(), slug, b.Plan); err != nil {
			return err
		}
	}
	if b.Set.Empty() && len(b.Unset) == 0 {
		return s.tenantLimits(w, r)
	}
	tl, err := s.svc.Plans.SetTenantOverrides(r.Context(), slug, b.Set, b.Unset)
	return reply(w, http.StatusOK, tl, err)
}
