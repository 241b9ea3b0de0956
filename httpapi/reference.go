package httpapi

import (
	"net/http"
	"strings"

	"github.com/quartermaster/qm"
)

// referenceHandlers serve one reference list.
type referenceHandlers struct {
	refs qm.ReferenceList
}

func (h referenceHandlers) store(s *Server) qm.ReferenceService {
	return s.svc.References[h.refs.Name]
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

// catalogVocabulary is what the catalog's forms offer: the reference lists
// with the kinds each allows, the types a custom field may have and who a
// license seat may go to. Clients read it rather than keep their own copy.
type catalogVocabulary struct {
	ReferenceLists    []referenceListInfo `json:"reference_lists"`
	FieldTypes        []string            `json:"field_types"`
	SeatAssigneeTypes []string            `json:"seat_assignee_types"`
}

// referenceListInfo describes one reference list.
type referenceListInfo struct {
	// Name is the list's name ("status_labels").
	Name string `json:"name"`
	// Path is its collection's path under /api/v1/t/{tenant} ("status-labels").
	Path string `json:"path"`
	// Noun names one entry ("status label").
	Noun string `json:"noun"`
	// Kinds are the kinds an entry may have; empty when entries have none.
	Kinds       []string `json:"kinds"`
	DefaultKind string   `json:"default_kind,omitempty"`
}

func (s *Server) catalogVocabulary(w http.ResponseWriter, r *http.Request) error {
	v := catalogVocabulary{FieldTypes: qm.FieldTypes, SeatAssigneeTypes: []string{qm.HolderUser, qm.HolderAsset}}
	for _, l := range qm.ReferenceLists {
		v.ReferenceLists = append(v.ReferenceLists, referenceListInfo{
			Name: l.Name, Path: strings.ReplaceAll(l.Name, "_", "-"), Noun: l.Noun, Kinds: append([]string{}, l.Kinds...), DefaultKind: l.DefaultKind,
		})
	}
	return reply(w, http.StatusOK, v, nil)
}
