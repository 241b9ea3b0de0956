package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/quartermaster/qm"
)

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Models.Models(r.Context())
	ms, page, err := listPage(r, ms, err)
	return reply(w, http.StatusOK, modelList{ms, page}, err)
}

func (s *Server) createModel(w http.ResponseWriter, r *http.Request) error {
	var body modelRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	m := &qm.Model{Name: body.Name, ModelNumber: body.ModelNumber, CategoryID: body.CategoryID, ManufacturerID: body.ManufacturerID,
		DepreciationID: body.DepreciationID, FieldSetID: body.FieldSetID, Notes: body.Notes}
	return reply(w, http.StatusCreated, m, s.svc.Models.CreateModel(r.Context(), m))
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.svc.Models.Model(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, m, err)
}

func (s *Server) updateModel(w http.ResponseWriter, r *http.Request) error {
	var u qm.ModelUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	m, err := s.svc.Models.UpdateModel(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, m, err)
}

func (s *Server) deleteModel(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Models.DeleteModel(r.Context(), r.PathValue("id")))
}

// assetFilterParams are the query parameters that narrow and order a list
// of assets, read by assetFilter.
var assetFilterParams = []string{"q", "status_id", "model_id", "category_id", "manufacturer_id", "location_id", "department_id",
	"holder_type", "holder_id", "warranty_before", "sort", "field.*"}

// assetFilter reads assetFilterParams, and field.KEY=VALUE for custom
// fields; the store checks their values.
func assetFilter(r *http.Request) qm.AssetFilter {
	q := r.URL.Query()
	return qm.AssetFilter{Q: q.Get("q"), StatusID: q.Get("status_id"), ModelID: q.Get("model_id"), CategoryID: q.Get("category_id"),
		ManufacturerID: q.Get("manufacturer_id"), LocationID: q.Get("location_id"), DepartmentID: q.Get("department_id"),
		HolderType: q.Get("holder_type"), HolderID: q.Get("holder_id"), WarrantyBefore: q.Get("warranty_before"),
		Fields: fieldFilters(q), Sort: q.Get("sort")}
}

// listAssets answers a filtered, sorted page of assets: assetFilterParams,
// and ?after=&limit= for the page.
func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	f := assetFilter(r)
	f.After, f.Limit = p.After, p.Limit
	page, err := s.svc.Assets.Assets(r.Context(), f)
	if err != nil {
		return err
	}
	out := assetPage{Assets: make([]qm.Asset, len(page.Assets)), pageInfo: pageInfo{Total: page.Total, Next: page.Next}}
	for i, a := range page.Assets {
		out.Assets[i] = *a
	}
	return reply(w, http.StatusOK, out, nil)
}

func (s *Server) createAsset(w http.ResponseWriter, r *http.Request) error {
	var b assetRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	a := &qm.Asset{Tag: b.Tag, Name: b.Name, Serial: b.Serial, ModelID: b.ModelID, StatusID: b.StatusID, LocationID: b.LocationID,
		DepartmentID: b.DepartmentID, SupplierID: b.SupplierID, PurchaseDate: b.PurchaseDate, CostCents: b.CostCents,
		Currency: b.Currency, OrderNumber: b.OrderNumber, WarrantyMonths: b.WarrantyMonths, Notes: b.Notes, Fields: b.Fields}
	return reply(w, http.StatusCreated, a, s.svc.Assets.CreateAsset(r.Context(), a))
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.Assets.Asset(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) updateAsset(w http.ResponseWriter, r *http.Request) error {
	var u qm.AssetUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	a, err := s.svc.Assets.UpdateAsset(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) deleteAsset(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Assets.DeleteAsset(r.Context(), r.PathValue("id")))
}

func (s *Server) listDepreciations(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.Depreciations.Depreciations(r.Context())
	ds, page, err := listPage(r, ds, err)
	return reply(w, http.StatusOK, depreciationList{ds, page}, err)
}

func (s *Server) createDepreciation(w http.ResponseWriter, r *http.Request) error {
	var b depreciationRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	d := &qm.Depreciation{Name: b.Name, Months: b.Months, CategoryIDs: b.CategoryIDs}
	return reply(w, http.StatusCreated, d, s.svc.Depreciations.CreateDepreciation(r.Context(), d))
}

func (s *Server) updateDepreciation(w http.ResponseWriter, r *http.Request) error {
	var u qm.DepreciationUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	d, err := s.svc.Depreciations.UpdateDepreciation(r.Context(), r.PathValue("id"), u)
	return reply(w, http.StatusOK, d, err)
}

func (s *Server) deleteDepreciation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Depreciations.DeleteDepreciation(r.Context(), r.PathValue("id")))
}

func (s *Server) checkOutAsset(w http.ResponseWriter, r *http.Request) error {
	var co qm.CheckOut
	if err := decode(r, &co); err != nil {
		return err
	}
	a, err := s.svc.Assets.CheckOut(r.Context(), r.PathValue("id"), co)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) checkInAsset(w http.ResponseWriter, r *http.Request) error {
	var ci qm.CheckIn
	if err := decode(r, &ci); err != nil {
		return err
	}
	a, err := s.svc.Assets.CheckIn(r.Context(), r.PathValue("id"), ci)
	return reply(w, http.StatusOK, a, err)
}

func (s *Server) assetHistory(w http.ResponseWriter, r *http.Request) error {
	es, err := s.svc.Assets.History(r.Context(), r.PathValue("id"))
	es, page, err := listPage(r, es, err)
	return reply(w, http.StatusOK, assetHistory{es, page}, err)
}

func (s *Server) listMaintenances(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Maintenances.Maintenances(r.Context(), r.PathValue("id"))
	ms, page, err := listPage(r, ms, err)
	return reply(w, http.StatusOK, maintenanceList{ms, page}, err)
}

func (s *Server) addMaintenance(w http.ResponseWriter, r *http.Request) error {
	var b maintenanceRequest
	if err := decode(r, &b); err != nil {
		return err
	}
	m := &qm.Maintenance{Kind: b.Kind, Title: b.Title, StartedOn: b.StartedOn, CompletedOn: b.CompletedOn, CostCents: b.CostCents, SupplierID: b.SupplierID, Notes: b.Notes}
	return reply(w, http.StatusCreated, m, s.svc.Maintenances.AddMaintenance(r.Context(), r.PathValue("id"), m))
}

func (s *Server) updateMaintenance(w http.ResponseWriter, r *http.Request) error {
	var u qm.MaintenanceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	m, err := s.svc.Maintenances.UpdateMaintenance(r.Context(), r.PathValue("id"), r.PathValue("record"), u)
	return reply(w, http.StatusOK, m, err)
}

func (s *Server) deleteMaintenance(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, s.svc.Maintenances.DeleteMaintenance(r.Context(), r.PathValue("id"), r.PathValue("record")))
}

// fieldFilters reads the custom field filters of a list: field.KEY=VALUE.
func fieldFilters(q url.Values) map[string]string {
	var fields map[string]string
	for name, vs := range q {
		if key, ok := strings.CutPrefix(name, "field."); ok && len(vs) > 0 {
			if fields == nil {
				fields = map[string]string{}
			}
			fields[key] = vs[0]
		}
	}
	return fields
}

func (s *Server) getTagNumbering(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.Assets.TagNumbering(r.Context())
	return reply(w, http.StatusOK, n, err)
}

func (s *Server) setTagNumbering(w http.ResponseWriter, r *http.Request) error {
	var n qm.TagNumbering
	if err := decode(r, &n); err != nil {
		return err
	}
	got, err := s.svc.Assets.SetTagNumbering(r.Context(), n)
	return reply(w, http.StatusOK, got, err)
}
