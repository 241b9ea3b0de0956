package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// referenceHandlers serve one reference list.
type referenceHandlers struct {
	refs qm.ReferenceList
}

func (h referenceHandlers) store(s *Server) *sqlstore.ReferenceStore {
	return sqlstore.NewReferenceStore(h.refs, s.cfg.Router, s.cfg.Now)
}

func (h referenceHandlers) index(s *Server, w http.ResponseWriter, r *http.Request) error {
	rs, err := h.store(s).List(r.Context())
	rs, page, err := listPage(r, rs, err)
	return reply(w, http.StatusOK, referenceList{rs, page}, err)
}

func (h referenceHandlers) create(s *Server, w http.ResponseWriter, r *http.Request) error {
	var body referenceRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	ref := &qm.Reference{Name: body.Name, Kind: body.Kind, Notes: body.Notes}
	return reply(w, http.StatusCreated, ref, h.store(s).Create(r.Context(), ref))
}

func (h referenceHandlers) get(s *Server, w http.ResponseWriter, r *http.Request) error {
	ref, err := h.store(s).Get(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, ref, err)
}

func (h referenceHandlers) update(s *Server, w http.ResponseWriter, r *http.Request) error {
	var u qm.ReferenceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	ref, err := h.store(s).Update(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, ref, err)
}

func (h referenceHandlers) delete(s *Server, w http.ResponseWriter, r *http.Request) error {
	return noContent(w, h.store(s).Delete(r.Context(), r.PathValue("id")))
}
