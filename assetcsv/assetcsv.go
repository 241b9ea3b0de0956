// Package assetcsv reads and writes assets as CSV: the columns of
// Snipe-IT's asset export, matched case-insensitively, and Quartermaster's
// own export columns. It parses what people type into spreadsheets (dates in
// several forms, costs with currency signs and thousands separators) and
// reports, per line, what it cannot read.
package assetcsv

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/csvfile"
	xcurrency "golang.org/x/text/currency"
)

// field is what a column holds.
type field int

const (
	unknown field = iota
	ignored       // a column of ours that import does not read back
	fTag
	fName
	fSerial
	fModel
	fModelNumber
	fModelNotes
	fCategory
	fManufacturer
	fStatus
	fLocation
	fDepartment
	fSupplier
	fPurchaseDate
	fPurchaseCost
	fCurrency
	fOrderNumber
	fWarrantyMonths
	fNotes
	fCheckoutType
	fCheckedOutTo // Quartermaster's export: "user: EMAIL", "location: NAME", "asset: TAG"
	fHolderUsername
	fHolderEmail
	fHolderLocation
	fCompany // Snipe-IT's Company: the department, when asked
)

// columns maps lower-case header names to fields.
var columns = map[string]field{
	"asset tag": fTag, "tag": fTag,
	"name": fName, "item name": fName, "asset name": fName,
	"serial number": fSerial, "serial": fSerial,
	"model": fModel, "model name": fModel,
	"model number": fModelNumber, "model no.": fModelNumber, "model notes": fModelNotes,
	"category": fCategory, "manufacturer": fManufacturer,
	"status": fStatus, "status label": fStatus,
	"location":   fLocation,
	"department": fDepartment, "company": fCompany,
	"supplier":      fSupplier,
	"purchase date": fPurchaseDate, "purchase cost": fPurchaseCost, "currency": fCurrency,
	"order number": fOrderNumber, "warranty months": fWarrantyMonths, "warranty": fWarrantyMonths,
	"notes": fNotes, "asset notes": fNotes,
	// Written by export, or by Snipe-IT, and not read back.
	"warranty end": ignored, "created at": ignored, "expected return": ignored,
	"checked out to: first name": ignored, "checked out to: last name": ignored, "full name": ignored,
	// Who has the asset: Snipe-IT's columns (its export's, and its sample
	// import file's), and ours.
	"checkout type": fCheckoutType, "checked out to": fCheckedOutTo, "checked out to: username": fHolderUsername,
	"checked out to: email": fHolderEmail, "checked out to: location": fHolderLocation,
	"email": fHolderEmail, "username": fHolderUsername,
}

// derived are the columns export writes that import need not read back:
// they follow from others, so dropping them drops nothing.
var derived = map[string]bool{"warranty end": true}

// Reader reads assets from CSV.
type Reader struct {
	r       *csvfile.Reader
	opts    qm.ImportOptions
	cols    []field
	headers []string
	// Custom are the columns that are none of the asset's own, in order:
	// each row carries their values in Fields, for the importer to match
	// with the tenant's custom fields.
	Custom []string
	// dropped are the columns read but not imported, by index, with why;
	// filled says which of them held a value.
	dropped map[int]string
	filled  map[int]bool
	date    *dateColumn // the Purchase Date column's order
	rows    int
}

// NewReader reads the header. It fails when the file is not CSV or has no
// column naming the model (every asset needs one), or when opts name an
// encoding or a date format it does not know.
func NewReader(in io.Reader, opts qm.ImportOptions) (*Reader, error) {
	order, err := ParseDateFormat(opts.DateFormat)
	if err != nil {
		return nil, err
	}
	r, err := csvfile.NewReader(in, opts.Encoding)
	if err != nil {
		return nil, err
	}
	header, err := r.ReadHeader()
	if err != nil {
		return nil, err
	}
	rd := &Reader{r: r, opts: opts, cols: make([]field, len(header)), headers: slices.Clone(header),
		dropped: map[int]string{}, filled: map[int]bool{}}
	seen := map[field]string{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		rd.headers[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		f := columns[name]
		if f == fCompany && opts.CompanyAsDepartment {
			f = fDepartment
		}
		switch {
		case f == unknown:
			// Perhaps a custom field: the importer knows the tenant's.
			rd.Custom = append(rd.Custom, rd.headers[i])
		case f == fCompany:
			rd.dropped[i] = " (the company-as-department option reads it as the department)"
		case f == fDepartment && !opts.CompanyAsDepartment:
			rd.dropped[i] = " (the company-as-department option reads it)"
		case f == ignored && !derived[name]:
			rd.dropped[i] = ""
		case f != ignored && seen[f] != "":
			return nil, qm.Errorf(qm.EInvalid, "columns %q and %q both say the same thing: keep one", seen[f], h)
		}
		seen[f], rd.cols[i] = h, f
	}
	if seen[fModel] == "" {
		return nil, qm.Errorf(qm.EInvalid, "no Model column: every asset needs a model (columns: %s)", strings.Join(header, ", "))
	}
	if i := slices.Index(rd.cols, fPurchaseDate); i >= 0 {
		rd.date = &dateColumn{index: i, name: rd.headers[i], order: order, given: order != orderUnknown}
	}
	return rd, nil
}

// Next returns the next row, or io.EOF after the last. A line that is not
// CSV, or a row whose values are wrong, comes back with its Errors set; an
// error ends the read: a file that is not text in its encoding, a date
// column whose order no value decides, or a file with no rows.
func (rd *Reader) Next() (*qm.ImportRow, error) {
	rec, err := rd.r.Read()
	switch {
	case errors.Is(err, io.EOF) && rd.rows == 0:
		return nil, qm.Errorf(qm.EInvalid, "the file has no rows below its header: nothing to import")
	case err != nil:
		return nil, err
	}
	rd.rows++
	row := &qm.ImportRow{Line: rec.Line}
	if rec.Err != nil {
		row.Errors = []string{"not CSV: " + rec.Err.Error()}
		return row, nil
	}
	a := &row.Asset
	var holder holderCells
	var cost string
	for i, v := range rec.Fields {
		if i >= len(rd.cols) {
			if strings.TrimSpace(v) != "" {
				row.Errors = append(row.Errors, fmt.Sprintf("more values than columns (%d)", len(rd.cols)))
			}
			continue
		}
		v = strings.TrimSpace(v)
		if _, ok := rd.dropped[i]; ok {
			rd.filled[i] = rd.filled[i] || v != ""
			continue
		}
		switch rd.cols[i] {
		case unknown:
			if v != "" {
				if row.Fields == nil {
					row.Fields = map[string]string{}
				}
				row.Fields[rd.headers[i]] = v
			}
		case fCheckoutType:
			holder.kind = strings.ToLower(v)
		case fCheckedOutTo:
			if kind, name, ok := strings.Cut(v, ":"); ok {
				holder.kind, holder.ours = strings.ToLower(strings.TrimSpace(kind)), strings.TrimSpace(name)
			}
		case fHolderUsername:
			holder.username = v
		case fHolderEmail:
			holder.email = v
		case fHolderLocation:
			holder.location = v
		case fTag:
			a.Tag = v
		case fName:
			a.Name = v
		case fSerial:
			a.Serial = v
		case fModel:
			row.Model = v
		case fModelNumber:
			row.ModelNumber = v
		case fModelNotes:
			row.ModelNotes = v
		case fCategory:
			row.Category = v
		case fManufacturer:
			row.Manufacturer = v
		case fStatus:
			row.Status = v
		case fLocation:
			row.Location = v
		case fDepartment:
			row.Department = v
		case fSupplier:
			row.Supplier = v
		case fOrderNumber:
			a.OrderNumber = v
		case fNotes:
			a.Notes = v
		case fCurrency:
			a.Currency = v
		case fPurchaseDate:
			if v != "" {
				d, bad, err := rd.date.read(rd.r, v, rec.Line)
				if err != nil {
					return nil, err
				}
				if bad != nil {
					row.Errors = append(row.Errors, rd.date.name+": "+bad.Error())
				}
				a.PurchaseDate = d
			}
		case fPurchaseCost:
			cost = v // read once the row's currency is known, wherever its column is
		case fWarrantyMonths:
			if v != "" {
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(v), "months"), " "))
				if err != nil || n < 0 {
					row.Errors = append(row.Errors, fmt.Sprintf("Warranty Months: %q is not a number of months", v))
				} else {
					a.WarrantyMonths = &n
				}
			}
		}
	}
	if cost != "" {
		minor, cur, err := ParseCost(cost, a.Currency)
		if err != nil {
			row.Errors = append(row.Errors, "Purchase Cost: "+err.Error())
		} else {
			a.CostCents = &minor
			a.Currency = cmp.Or(a.Currency, cur)
		}
	}
	if row.Model == "" {
		row.Errors = append(row.Errors, "Model is empty")
	}
	holder.into(row)
	return row, nil
}

// Importer imports rows read from a file: sqlstore's AssetStore does.
type Importer interface {
	Import(ctx context.Context, next func() (*qm.ImportRow, error), opts qm.ImportOptions) (*qm.ImportReport, error)
}

// Import imports the file's rows with im, with the options the reader was
// made with, and adds to the report what reading found: the columns that
// were not imported, named together in one warning.
func (rd *Reader) Import(ctx context.Context, im Importer) (*qm.ImportReport, error) {
	rep, err := im.Import(ctx, rd.Next, rd.opts)
	if err != nil {
		return rep, err
	}
	var ignored, named []string
	for i, name := range rd.headers {
		if why, ok := rd.dropped[i]; ok && rd.filled[i] {
			ignored = append(ignored, name)
			named = append(named, fmt.Sprintf("%q%s", name, why))
		}
	}
	for _, name := range rep.IgnoredColumns {
		named = append(named, fmt.Sprintf("%q (no custom field of the tenant has that name)", name))
	}
	rep.IgnoredColumns = append(ignored, rep.IgnoredColumns...)
	if len(named) > 0 {
		rep.Warnings = append([]string{"columns not imported: " + strings.Join(named, ", ")}, rep.Warnings...)
	}
	return rep, nil
}

// holderCells are a row's cells that say who has the asset.
type holderCells struct {
	kind, ours                string // Checkout Type; our "Checked Out To" split at its colon
	username, email, location string
}

// into sets the row's holder: a user by email (or user name), a location,
// or (our export only) an asset by tag. A checkout type the row cannot
// back with a name is an error of the row.
func (h holderCells) into(row *qm.ImportRow) {
	switch {
	case h.ours != "":
		row.HolderType, row.HolderName = h.kind, h.ours
	case h.location != "" && (h.kind == "" || h.kind == qm.HolderLocation):
		row.HolderType, row.HolderName = qm.HolderLocation, h.location
	case h.email != "" || h.username != "":
		row.HolderType, row.HolderName = qm.HolderUser, h.email
		if row.HolderName == "" {
			row.HolderName = h.username
		}
	case h.kind != "":
		row.Errors = append(row.Errors, fmt.Sprintf("Checkout Type is %q, but the row names no one to check it out to", h.kind))
		return
	}
	switch row.HolderType {
	case "", qm.HolderUser, qm.HolderLocation, qm.HolderAsset:
	default:
		row.Errors = append(row.Errors, fmt.Sprintf("an asset is checked out to a user, a location or an asset, not %q", row.HolderType))
	}
}

// currencySigns maps signs to ISO codes.
var currencySigns = map[string]string{"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}

// spaces and separators are what an amount's digits are grouped with, made
// once: a Replacer costs more to make than to use.
var (
	spaces     = strings.NewReplacer(" ", "", "\u00a0", "", "'", "")
	separators = strings.NewReplacer(".", "", ",", "")
)

// ParseCost reads an amount of money into the currency's minor units
// (cents for USD or EUR, yen for JPY, fils for BHD), with the currency its
// sign or code names: "$1,299.00", "1.299,00 €", "EUR 12", "1 299,5".
// currency, the row's own (its Currency column) when it has one, decides
// the minor unit over what the amount names; either way the currency
// answered is the amount's. The digits are read exactly, never through a
// float, and an amount with more digits after the point than its currency
// has (¥12.5) is refused.
func ParseCost(s, currency string) (int64, string, error) {
	orig, cur := s, ""
	for sign, code := range currencySigns {
		if strings.Contains(s, sign) {
			s, cur = strings.ReplaceAll(s, sign, ""), code
		}
	}
	s = strings.TrimSpace(s)
	if len(s) > 3 {
		if code := s[:3]; isCode(code) {
			s, cur = strings.TrimSpace(s[3:]), code
		} else if code := s[len(s)-3:]; isCode(code) {
			s, cur = strings.TrimSpace(s[:len(s)-3]), code
		}
	}
	unit := cmp.Or(currency, cur)
	digits := MinorDigits(unit)
	s = spaces.Replace(s)
	whole, fraction := s, ""
	if i := strings.LastIndexAny(s, ".,"); i >= 0 && isDecimalPoint(s, i, digits) {
		whole, fraction = s[:i], s[i+1:]
	}
	whole = separators.Replace(whole)
	n, err := strconv.ParseUint(whole+fraction+strings.Repeat("0", max(digits-len(fraction), 0)), 10, 63)
	if err != nil || whole+fraction == "" {
		return 0, "", fmt.Errorf("%q is not an amount of money", orig)
	}
	if len(fraction) > digits {
		return 0, "", fmt.Errorf("%q has %s", orig, digitsAllowed(unit, digits))
	}
	return int64(n), cur, nil
}

// isDecimalPoint says whether the separator at i, the last, in an amount
// of a currency with digits minor digits is its decimal point: it is
// unless three digits follow it, which group thousands (1,234 JPY;
// 12.345.678), but in a currency that has three (1.234 BHD) when no other
// separator is like it.
func isDecimalPoint(s string, i, digits int) bool {
	switch after := len(s) - i - 1; after {
	case 0:
		return false
	case 3:
		return digits == 3 && strings.Count(s, s[i:i+1]) == 1
	default:
		return true
	}
}

// digitsAllowed says how many digits an amount of the currency has after
// its point, for a message about an amount that has more.
func digitsAllowed(currency string, digits int) string {
	switch {
	case digits == 0:
		return fmt.Sprintf("digits after the point, and %s has no minor unit: write a whole amount", currency)
	case currency == "":
		return fmt.Sprintf("more than %d digits after the point", digits)
	default:
		return fmt.Sprintf("more than %d digits after the point, as many as %s has", digits, currency)
	}
}

// MinorDigits is how many digits a currency's amounts have after the
// point (its minor unit's exponent, from CLDR's data): 2 for USD and EUR,
// 0 for JPY, 3 for BHD and KWD; 2 for an empty or unknown code. The API's
// cost_cents are amounts in these minor units.
func MinorDigits(currency string) int {
	unit, err := xcurrency.ParseISO(strings.ToUpper(currency))
	if err != nil {
		return 2
	}
	scale, _ := xcurrency.Standard.Rounding(unit)
	return scale
}

// FormatCost writes an amount in a currency's minor units as ParseCost
// reads it back: 1299.50 for 129950 cents of EUR, 1234 for 1234 yen.
func FormatCost(minor int64, currency string) string {
	digits := MinorDigits(currency)
	s := strconv.FormatInt(minor, 10)
	if digits == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	if neg {
		s = "-" + s
	}
	return s
}

func isCode(s string) bool {
	return len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}
