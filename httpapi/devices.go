package httpapi

import (
	"net/http"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/devicecsv"
)

// operatorDevices lists the inventory: ?tenant=SLUG&unassigned=true&after=IDENT&limit=.
func (s *Server) operatorDevices(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := qm.DeviceFilter{Unassigned: q.Get("unassigned") == "true", After: p.After, Limit: p.Limit + 1}
	if slug := q.Get("tenant"); slug != "" {
		t, err := s.svc.Tenants.Tenant(r.Context(), slug)
		if err != nil {
			return err
		}
		f.TenantID = t.ID
	}
	ds, err := s.svc.Devices.Devices(r.Context(), f)
	if err != nil {
		return err
	}
	total, err := s.svc.Devices.CountDevices(r.Context(), f)
	ds, page := storePage(p, ds, total, func(d *qm.Device) string { return d.Ident })
	return reply(w, http.StatusOK, deviceList{ds, page}, err)
}

func (s *Server) operatorRegisterDevice(w http.ResponseWriter, r *http.Request) error {
	var b deviceRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	d := &qm.Device{Ident: b.Ident, Serial: b.Serial, Kind: b.Kind, Model: b.Model, Firmware: b.Firmware, Notes: b.Notes, IdentOnly: b.IdentOnly}
	token, err := s.svc.Devices.RegisterDevice(r.Context(), d)
	return reply(w, http.StatusCreated, deviceCredential{Device: d, Token: token}, err)
}

// operatorImportDevices registers every device of a CSV file, all or none,
// and answers each one's credential, shown this once.
func (s *Server) operatorImportDevices(w http.ResponseWriter, r *http.Request) error {
	body, _, err := csvBody(r)
	if err != nil {
		return err
	}
	defer body.Close()
	list, err := devicecsv.Read(body)
	if err != nil {
		return err
	}
	tokens, err := s.svc.Devices.RegisterDevices(r.Context(), list.Devices)
	if err != nil {
		return list.ByLine(err)
	}
	out := deviceCredentials{Devices: make([]deviceCredential, len(list.Devices))}
	for i, d := range list.Devices {
		out.Devices[i] = deviceCredential{Device: d, Token: tokens[i]}
	}
	return reply(w, http.StatusCreated, out, nil)
}

func (s *Server) operatorDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Devices.Device(r.Context(), r.PathValue("device"))
	return reply(w, http.StatusOK, d, err)
}

// operatorUpdateDevice changes a device's description, or whether it may
// report by ident alone.
func (s *Server) operatorUpdateDevice(w http.ResponseWriter, r *http.Request) error {
	var u qm.DeviceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	d, err := s.svc.Devices.UpdateDevice(r.Context(), r.PathValue("device"), u)
	return reply(w, http.StatusOK, d, err)
}

// operatorAssignDevice gives a device to a tenant, or moves it from another;
// a move answers the device's new credential.
func (s *Server) operatorAssignDevice(w http.ResponseWriter, r *http.Request) error {
	var b assignRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context(), b.Tenant)
	if qm.ErrorCode(err) == qm.ENotFound {
		return &qm.Error{Code: qm.EInvalid, Message: "no tenant with slug " + b.Tenant, Fields: map[string]string{"tenant": "no such tenant"}}
	} else if err != nil {
		return err
	}
	d, token, err := s.svc.Devices.AssignDevice(r.Context(), r.PathValue("device"), t)
	return reply(w, http.StatusOK, deviceCredential{Device: d, Token: token}, err)
}

func (s *Server) operatorUnassignDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Devices.UnassignDevice(r.Context(), r.PathValue("device"))
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) operatorRotateDevice(w http.ResponseWriter, r *http.Request) error {
	token, err := s.svc.Devices.RotateToken(r.Context(), r.PathValue("device"))
	if err != nil {
		return err
	}
	d, err := s.svc.Devices.Device(r.Context(), r.PathValue("device"))
	return reply(w, http.StatusOK, deviceCredential{Device: d, Token: token}, err)
}

func (s *Server) operatorDeviceCustody(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.svc.Devices.Custody(r.Context(), r.PathValue("device"))
	cs, page, err := listPage(r, cs, err)
	return reply(w, http.StatusOK, custodyList{cs, page}, err)
}
