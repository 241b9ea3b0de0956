package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

func (s *Server) listGeofences(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.Geofences.Geofences(r.Context())
	gs, page, err := listPage(r, gs, err)
	return reply(w, http.StatusOK, geofenceList{gs, page}, err)
}

func (s *Server) createGeofence(w http.ResponseWriter, r *http.Request) error {
	var body geofenceRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	g := &qm.Geofence{Name: body.Name, Shape: body.Shape}
	return reply(w, http.StatusCreated, g, s.svc.Geofences.CreateGeofence(r.Context(), g))
}

func (s *Server) getGeofence(w http.ResponseWriter, r *http.Request) error {
	g, err := s.svc.Geofences.Geofence(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, g, err)
}

func (s *Server) updateGeofence(w http.ResponseWriter, r *http.Request) error {
	var u qm.GeofenceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	g, err := s.svc.Geofences.UpdateGeofence(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, g, err)
}

func (s *Server) deleteGeofence(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Geofences.DeleteGeofence(r.Context(), r.PathValue("id")))
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.Rules.Rules(r.Context())
	rs, page, err := listPage(r, rs, err)
	return reply(w, http.StatusOK, ruleList{rs, page}, err)
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	var d qm.RuleDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	rule, err := s.svc.Rules.CreateRule(r.Context(), d)
	return reply(w, http.StatusCreated, rule, err)
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := s.svc.Rules.Rule(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, rule, err)
}

func (s *Server) replaceRule(w http.ResponseWriter, r *http.Request) error {
	var d qm.RuleDefinition
	if err := decode(r, &d); err != nil {
		return err
	}
	rule, err := s.svc.Rules.ReplaceRule(r.Context(), r.PathValue("id"), d)
	return reply(w, http.StatusOK, rule, err)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Rules.DeleteRule(r.Context(), r.PathValue("id")))
}
