package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

func (s *Server) listFields(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.svc.Fields.Fields(r.Context())
	fs, page, err := listPage(r, fs, err)
	return reply(w, http.StatusOK, customFieldList{fs, page}, err)
}

func (s *Server) createField(w http.ResponseWriter, r *http.Request) error {
	var b customFieldRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	f := &qm.CustomField{Key: b.Key, Name: b.Name, Type: b.Type, Required: b.Required, Unique: b.Unique, Pattern: b.Pattern,
		Choices: b.Choices, HelpText: b.HelpText}
	return reply(w, http.StatusCreated, f, s.svc.Fields.CreateField(r.Context(), f))
}

func (s *Server) getField(w http.ResponseWriter, r *http.Request) error {
	f, err := s.svc.Fields.Field(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, f, err)
}

func (s *Server) updateField(w http.ResponseWriter, r *http.Request) error {
	var u qm.CustomFieldUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	f, err := s.svc.Fields.UpdateField(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, f, err)
}

func (s *Server) deleteField(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Fields.DeleteField(r.Context(), r.PathValue("id")))
}

func (s *Server) listFieldSets(w http.ResponseWriter, r *http.Request) error {
	sets, err := s.svc.Fields.FieldSets(r.Context())
	sets, page, err := listPage(r, sets, err)
	return reply(w, http.StatusOK, fieldSetList{sets, page}, err)
}

func (s *Server) createFieldSet(w http.ResponseWriter, r *http.Request) error {
	var b fieldSetRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	fs := &qm.FieldSet{Name: b.Name, FieldIDs: b.FieldIDs, CategoryIDs: b.CategoryIDs}
	return reply(w, http.StatusCreated, fs, s.svc.Fields.CreateFieldSet(r.Context(), fs))
}

func (s *Server) getFieldSet(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.svc.Fields.FieldSet(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, fs, err)
}

func (s *Server) updateFieldSet(w http.ResponseWriter, r *http.Request) error {
	var u qm.FieldSetUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	fs, err := s.svc.Fields.UpdateFieldSet(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, fs, err)
}

func (s *Server) deleteFieldSet(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Fields.DeleteFieldSet(r.Context(), r.PathValue("id")))
}
