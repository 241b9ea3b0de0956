package httpapi

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
)

// mediaFile marks, in the route table, a body or answer that is a file of
// this media type rather than JSON.
type mediaFile string

// csvFile is a CSV body or answer.
const csvFile = mediaFile("text/csv")

// exportColumns are the columns of an asset export, in order. Import reads
// them back.
var exportColumns = []string{"Asset Tag", "Name", "Serial Number", "Model", "Model Number", "Category", "Manufacturer", "Status",
	"Location", "Department", "Supplier", "Purchase Date", "Purchase Cost", "Currency", "Order Number", "Warranty Months",
	"Warranty End", "Checked Out To", "Expected Return", "Notes", "Created At"}

// exportAssets writes every asset the filters of assetFilterParams match
// as CSV, page by page, so memory stays bounded however many there are.
func (s *Server) exportAssets(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	names, err := s.exportNames(ctx)
	if err != nil {
		return err
	}
	f := assetFilter(r)
	f.Limit = 500
	page, err := s.svc.Assets.Assets(ctx, f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="assets.csv"`)
	out := csv.NewWriter(w)
	header := slices.Clone(exportColumns)
	for _, fd := range names.fields {
		header = append(header, fd.Name)
	}
	out.Write(header)
	for {
		for _, a := range page.Assets {
			out.Write(safeCells(names.row(a)))
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
		if page, err = s.svc.Assets.Assets(ctx, f); err != nil {
			// The header is out: the file ends short (fail).
			out.Flush()
			return fmt.Errorf("asset export, page after %s: %w", f.After, err)
		}
	}
	out.Flush()
	return out.Error()
}

// exportNames maps the ids an asset refers to onto names.
type exportNames struct {
	// fields are the tenant's custom fields, each a column after the
	// asset's own.
	fields []*qm.CustomField
	models map[string]*qm.Model
	// users maps the tenant's members to their email addresses; assets
	// maps the assets that hold others to their tags, as they are met.
	categories, manufacturers, statuses, suppliers, locations, dep, users, assets map[string]string
	tag                                                                           func(id string) string
}

func (s *Server) exportNames(ctx context.Context) (*exportNames, error) {
	n := &exportNames{models: map[string]*qm.Model{}}
	ms, err := s.svc.Models.Models(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		n.models[m.ID] = m
	}
	for _, l := range []struct {
		list qm.ReferenceList
		dst  *map[string]string
	}{{qm.Categories, &n.categories}, {qm.Manufacturers, &n.manufacturers}, {qm.StatusLabels, &n.statuses}, {qm.Suppliers, &n.suppliers}} {
		refs, err := s.svc.References[l.list.Name].List(ctx)
		if err != nil {
			return nil, err
		}
		*l.dst = map[string]string{}
		for _, r := range refs {
			(*l.dst)[r.ID] = r.Name
		}
	}
	n.locations, n.dep = map[string]string{}, map[string]string{}
	for after := ""; ; {
		ls, err := s.svc.Locations.Locations(ctx, qm.LocationFilter{Limit: 1000, After: after})
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			n.locations[l.ID] = l.Name
		}
		if len(ls) < 1000 {
			break
		}
		after = ls[len(ls)-1].ID
	}
	ds, err := s.svc.Departments.Departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		n.dep[d.ID] = d.Name
	}
	members, err := s.svc.Members.Members(ctx)
	if err != nil {
		return nil, err
	}
	n.users = map[string]string{}
	for _, m := range members {
		n.users[m.UserID] = m.Email
	}
	n.assets = map[string]string{}
	n.tag = func(id string) string {
		if t, ok := n.assets[id]; ok {
			return t
		}
		n.assets[id] = id // an asset out of the caller's sight shows its id
		if a, err := s.svc.Assets.Asset(ctx, id); err == nil {
			n.assets[id] = a.Tag
		}
		return n.assets[id]
	}
	n.fields, err = s.svc.Fields.Fields(ctx)
	return n, err
}

func (n *exportNames) row(a *qm.Asset) []string {
	m := n.models[a.ModelID]
	if m == nil {
		m = &qm.Model{}
	}
	cost, months := "", ""
	if a.CostCents != nil {
		cost = assetcsv.FormatCost(*a.CostCents, a.Currency)
	}
	if a.WarrantyMonths != nil {
		months = strconv.Itoa(*a.WarrantyMonths)
	}
	holder := ""
	switch a.HolderType {
	case qm.HolderLocation:
		holder = "location: " + n.locations[a.HolderID]
	case qm.HolderUser:
		holder = "user: " + cmp.Or(n.users[a.HolderID], a.HolderID)
	case qm.HolderAsset:
		holder = "asset: " + n.tag(a.HolderID)
	}
	row := []string{a.Tag, a.Name, a.Serial, m.Name, m.ModelNumber, n.categories[m.CategoryID], n.manufacturers[m.ManufacturerID],
		n.statuses[a.StatusID], n.locations[a.LocationID], n.dep[a.DepartmentID], n.suppliers[a.SupplierID], a.PurchaseDate, cost,
		a.Currency, a.OrderNumber, months, a.WarrantyEnd(), holder, a.ExpectedReturn, a.Notes, a.CreatedAt.Format(time.RFC3339)}
	for _, fd := range n.fields {
		row = append(row, fieldText(a.Fields[fd.Key]))
	}
	return row
}

// fieldText writes a custom field value as a CSV cell; import reads it back.
func fieldText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []string:
		return strings.Join(v, "; ")
	}
	return fmt.Sprint(v)
}

// safeCells keeps spreadsheets from running cells as formulas: a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading quote.
func safeCells(row []string) []string {
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}

// importAssets reads a CSV body (text/csv, or a multipart form with the file
// in the field "file") into the tenant's assets, with the options
// importOptions reads. The file is read as it arrives, in one transaction;
// the answer is the report: 200 when the import committed (or is a dry
// run), 422 with the report beside the error when bad rows stopped it.
func (s *Server) importAssets(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(uploadTime))
	rc.SetWriteDeadline(time.Now().Add(uploadTime))
	body, _, err := csvBody(r)
	if err != nil {
		return err
	}
	defer body.Close()
	rd, err := assetcsv.NewReader(body, importOptions(r))
	if err != nil {
		return err
	}
	rep, err := rd.Import(r.Context(), s.svc.Assets)
	if err != nil {
		return err
	}
	if e := stoppedByBadRows(rep); e != nil {
		var stopped importStopped
		stopped.Error.Code, stopped.Error.Message, stopped.Error.Limit, stopped.Error.RequestID, stopped.Report = e.Code, e.Message, e.Limit, info(r).id, rep
		return reply(w, statuses[e.Code], stopped, nil)
	}
	return reply(w, http.StatusOK, rep, nil)
}

// stoppedByBadRows is the error of an import that bad rows stopped, nil
// for one that committed or was a dry run: both import routes, the one
// that answers at once and the background job, say it alike.
func stoppedByBadRows(rep *qm.ImportReport) *qm.Error {
	if rep.Committed || rep.DryRun {
		return nil
	}
	if l := rep.LimitReached; l != nil {
		return &qm.Error{Code: qm.ELimitReached, Limit: l, Message: fmt.Sprintf("%d of %d rows are bad, some past the tenant's %s of %d: nothing was imported (skip_bad_rows=true imports the good rows up to it)",
			rep.Failed, rep.Rows, l.Limit, l.Value)}
	}
	return qm.Errorf(qm.EInvalid, "%d of %d rows are bad: nothing was imported (skip_bad_rows=true imports the good rows)", rep.Failed, rep.Rows)
}

// importStopped is the answer when bad rows stopped an import: the one
// error shape, with the report, which lists them, beside it.
type importStopped struct {
	errorBody
	Report *qm.ImportReport `json:"report,omitempty"`
}

// csvBody returns the CSV a request carries, and the file's name when the
// form gives one.
func csvBody(r *http.Request) (io.ReadCloser, string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "text/csv":
		return r.Body, "", nil
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, "", qm.Errorf(qm.EBadRequest, "the multipart body is not readable: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, "", qm.Errorf(qm.EBadRequest, `send the CSV in a form field named "file"`)
			}
			if part.FormName() == "file" {
				return part, part.FileName(), nil
			}
			part.Close()
		}
	}
	return nil, "", qm.Errorf(qm.EUnsupportedMedia, "send the file as text/csv or multipart/form-data")
}
