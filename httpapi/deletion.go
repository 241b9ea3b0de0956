package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/quartermaster/qm"
)

// deleteRequest is what the operator sends to delete a tenant: the slug
// typed again, so a tenant is never deleted by a slip of the URL, and how
// long it can be restored (hours; 0 for the default week).
type deleteRequest struct {
	Confirm    string `json:"confirm"`
	GraceHours int    `json:"grace_hours,omitempty"`
}

// maxGraceHours bounds a tenant's grace: a year.
const maxGraceHours = 366 * 24

// purgeRequest confirms a purge, with the slug typed again.
type purgeRequest struct {
	Confirm string `json:"confirm"`
}

// restoreReply is a tenant restored, with the devices it gave back that
// another tenant holds now.
type restoreReply struct {
	Tenant               *qm.Tenant `json:"tenant"`
	DevicesHeldElsewhere []string   `json:"devices_held_elsewhere"`
}

// tombstoneList is a page of tombstones.
type tombstoneList struct {
	Tombstones []*qm.Tombstone `json:"tombstones"`
	pageInfo
}

// confirmed refuses a destructive request whose confirmation is not the
// slug of the tenant it names.
func confirmed(r *http.Request, confirm string) error {
	if slug := r.PathValue("tenant"); confirm != slug {
		return &qm.Error{Code: qm.EInvalid, Message: "type the tenant's slug, " + strconv.Quote(slug) + ", in confirm",
			Fields: map[string]string{"confirm": "must be the tenant's slug"}}
	}
	return nil
}

func (s *Server) operatorDeleteTenant(w http.ResponseWriter, r *http.Request) error {
	var req deleteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := confirmed(r, req.Confirm); err != nil {
		return err
	}
	if req.GraceHours < 0 || req.GraceHours > maxGraceHours {
		return &qm.Error{Code: qm.EInvalid, Message: "grace_hours must be 0 (a week) to " + strconv.Itoa(maxGraceHours),
			Fields: map[string]string{"grace_hours": "0 to " + strconv.Itoa(maxGraceHours)}}
	}
	t, err := s.svc.Tenants.DeleteTenant(r.Context(), r.PathValue("tenant"), time.Duration(req.GraceHours)*time.Hour)
	return reply(w, http.StatusOK, t, err)
}

func (s *Server) operatorRestoreTenant(w http.ResponseWriter, r *http.Request) error {
	t, kept, err := s.svc.Tenants.RestoreTenant(r.Context(), r.PathValue("tenant"))
	if kept == nil {
		kept = []string{}
	}
	return reply(w, http.StatusOK, restoreReply{t, kept}, err)
}

func (s *Server) operatorPurgeTenant(w http.ResponseWriter, r *http.Request) error {
	var req purgeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := confirmed(r, req.Confirm); err != nil {
		return err
	}
	stone, err := s.svc.Tenants.PurgeTenant(r.Context(), r.PathValue("tenant"))
	return reply(w, http.StatusOK, stone, err)
}

func (s *Server) operatorTombstones(w http.ResponseWriter, r *http.Request) error {
	stones, err := s.svc.Tenants.Tombstones(r.Context())
	stones, page, err := listPage(r, stones, err)
	return reply(w, http.StatusOK, tombstoneList{stones, page}, err)
}
