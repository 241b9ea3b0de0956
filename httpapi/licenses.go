package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
)

func viewLicense(l *qm.License) licenseView {
	if l == nil {
		return licenseView{}
	}
	return licenseView{License: l, FreeSeats: l.FreeSeats()}
}

// listLicenses answers the tenant's licenses; ?expiring_before=YYYY-MM-DD
// lists those expiring before that day, soonest first.
func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.svc.Licenses.Licenses(r.Context(), qm.LicenseFilter{ExpiringBefore: r.URL.Query().Get("expiring_before")})
	ls, page, err := listPage(r, ls, err)
	views := make([]licenseView, len(ls))
	for i, l := range ls {
		views[i] = viewLicense(l)
	}
	return reply(w, http.StatusOK, licenseList{views, page}, err)
}

func (s *Server) createLicense(w http.ResponseWriter, r *http.Request) error {
	var b licenseRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	l := &qm.License{Name: b.Name, ProductKey: b.ProductKey, ManufacturerID: b.ManufacturerID, Seats: b.Seats, ExpiresOn: b.ExpiresOn, Notes: b.Notes}
	return reply(w, http.StatusCreated, viewLicense(l), s.svc.Licenses.CreateLicense(r.Context(), l))
}

func (s *Server) getLicense(w http.ResponseWriter, r *http.Request) error {
	l, err := s.svc.Licenses.License(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, viewLicense(l), err)
}

func (s *Server) updateLicense(w http.ResponseWriter, r *http.Request) error {
	var u qm.LicenseUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	l, err := s.svc.Licenses.UpdateLicense(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, viewLicense(l), err)
}

func (s *Server) deleteLicense(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Licenses.DeleteLicense(r.Context(), r.PathValue("id")))
}

func (s *Server) listSeats(w http.ResponseWriter, r *http.Request) error {
	seats, err := s.svc.Licenses.Seats(r.Context(), r.PathValue("id"))
	seats, page, err := listPage(r, seats, err)
	return reply(w, http.StatusOK, seatList{seats, page}, err)
}

func (s *Server) assignSeat(w http.ResponseWriter, r *http.Request) error {
	var b seatRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	seat, err := s.svc.Licenses.AssignSeat(r.Context(), r.PathValue("id"), b.AssigneeType, b.AssigneeID)
	return reply(w, http.StatusCreated, seat, err)
}

func (s *Server) freeSeat(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Licenses.FreeSeat(r.Context(), r.PathValue("id"), r.PathValue("seat")))
}
