// Package assetcsv reads and writes assets as CSV: the columns of
// Snipe-IT's asset export, matched case-insensitively, and Quartermaster's
// own export columns. It parses what people type into spreadsheets (dates in
// several forms, costs with currency signs and thousands separators) and
// reports, per line, what it cannot read.
package assetcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
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
)

// columns maps lower-case header names to fields.
var columns = map[string]field{
	"asset tag": fTag, "tag": fTag,
	"name": fName, "item name": fName, "asset name": fName,
	"serial number": fSerial, "serial": fSerial,
	"model": fModel, "model name": fModel,
	"model number": fModelNumber, "model notes": fModelNotes,
	"category": fCategory, "manufacturer": fManufacturer,
	"status": fStatus, "status label": fStatus,
	"location":   fLocation,
	"department": fDepartment, "company": fDepartment,
	"supplier":      fSupplier,
	"purchase date": fPurchaseDate, "purchase cost": fPurchaseCost, "currency": fCurrency,
	"order number": fOrderNumber, "warranty months": fWarrantyMonths, "warranty": fWarrantyMonths,
	"notes": fNotes, "asset notes": fNotes,
	// Written by export, or by Snipe-IT, and not read back.
	"warranty end": ignored, "created at": ignored, "expected return": ignored,
	"checked out to: first name": ignored, "checked out to: last name": ignored,
	// Who has the asset: Snipe-IT's columns, and ours.
	"checkout type": fCheckoutType, "checked out to": fCheckedOutTo, "checked out to: username": fHolderUsername,
	"checked out to: email": fHolderEmail, "checked out to: location": fHolderLocation,
}

// Reader reads assets from CSV.
type Reader struct {
	r       *csv.Reader
	cols    []field
	headers []string
	// Warnings say what of the header was not understood.
	Warnings []string
	// Custom are the columns that are none of the asset's own, in order:
	// each row carries their values in Fields, for the importer to match
	// with the tenant's custom fields.
	Custom []string
}

// NewReader reads the header. It fails when the file is not CSV or has no
// column naming the model: every asset needs one.
func NewReader(in io.Reader) (*Reader, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, qm.Errorf(qm.EInvalid, "the file is empty: the first line must name the columns")
	}
	if err != nil {
		return nil, qm.Errorf(qm.EInvalid, "the file is not readable CSV: %v", err)
	}
	rd := &Reader{r: r, cols: make([]field, len(header)), headers: slices.Clone(header)}
	seen := map[field]string{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		f := columns[name]
		switch {
		case f == unknown:
			// Perhaps a custom field: the importer knows the tenant's.
			rd.Custom = append(rd.Custom, strings.TrimSpace(h))
		case f != ignored && seen[f] != "":
			return nil, qm.Errorf(qm.EInvalid, "columns %q and %q both say the same thing: keep one", seen[f], h)
		}
		seen[f], rd.cols[i] = h, f
	}
	if seen[fModel] == "" {
		return nil, qm.Errorf(qm.EInvalid, "no Model column: every asset needs a model (columns: %s)", strings.Join(header, ", "))
	}
	return rd, nil
}

// Next returns the next row, or io.EOF after the last. A line that is not
// CSV ends the read with an error naming the line; a row whose values are
// wrong comes back with its Errors set.
func (rd *Reader) Next() (*qm.ImportRow, error) {
	rec, err := rd.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, qm.Errorf(qm.EInvalid, "line %d is not valid CSV: %v", pe.StartLine, pe.Err)
		}
		return nil, err
	}
	line, _ := rd.r.FieldPos(0)
	row := &qm.ImportRow{Line: line}
	a := &row.Asset
	var holder holderCells
	for i, v := range rec {
		if i >= len(rd.cols) {
			if strings.TrimSpace(v) != "" {
				row.Errors = append(row.Errors, fmt.Sprintf("more values than columns (%d)", len(rd.cols)))
			}
			continue
		}
		v = strings.TrimSpace(v)
		switch rd.cols[i] {
		case unknown:
			if v != "" {
				if row.Fields == nil {
					row.Fields = map[string]string{}
				}
				row.Fields[strings.TrimSpace(header(rd, i))] = v
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
				d, err := ParseDate(v)
				if err != nil {
					row.Errors = append(row.Errors, "Purchase Date: "+err.Error())
				}
				a.PurchaseDate = d
			}
		case fPurchaseCost:
			if v != "" {
				cents, cur, err := ParseCost(v)
				if err != nil {
					row.Errors = append(row.Errors, "Purchase Cost: "+err.Error())
				} else {
					a.CostCents = &cents
					if a.Currency == "" {
						a.Currency = cur
					}
				}
			}
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
	if row.Model == "" {
		row.Errors = append(row.Errors, "Model is empty")
	}
	holder.into(row)
	return row, nil
}

// header is the name of column i as the file gives it.
func header(rd *Reader, i int) string { return rd.headers[i] }

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

// ParseDate reads a date as people write it: 2025-03-14, 2025/03/14,
// 14.03.2025, 14 Mar 2025, Mar 14, 2025, and 14/03/2025 or 03/14/2025 when
// the day tells which is which. 03/04/2025 could be either: it is an error,
// never a guess.
func ParseDate(s string) (string, error) {
	for _, layout := range []string{"2006-01-02", "2006/01/02", "2006-1-2", "2006/1/2", "02.01.2006", "2.1.2006",
		"2 Jan 2006", "02 Jan 2006", "Jan 2, 2006", "January 2, 2006", "2 January 2006", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), nil
		}
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '-' })
	if len(parts) == 3 && len(parts[2]) == 4 {
		a, errA := strconv.Atoi(parts[0])
		b, errB := strconv.Atoi(parts[1])
		y, errY := strconv.Atoi(parts[2])
		if errA == nil && errB == nil && errY == nil {
			var day, month int
			switch {
			case a > 12 && b <= 12:
				day, month = a, b
			case b > 12 && a <= 12:
				day, month = b, a
			case a == b:
				day, month = a, b
			default:
				return "", fmt.Errorf("%q could be day/month or month/day: write it as YYYY-MM-DD", s)
			}
			t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
			if t.Day() == day && int(t.Month()) == month {
				return t.Format(time.DateOnly), nil
			}
		}
	}
	return "", fmt.Errorf("%q is not a date: write it as YYYY-MM-DD", s)
}

// currencySigns maps signs to ISO codes.
var currencySigns = map[string]string{"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}

// spaces and separators are what an amount's digits are grouped with, made
// once: a Replacer costs more to make than to use.
var (
	spaces     = strings.NewReplacer(" ", "", "\u00a0", "", "'", "")
	separators = strings.NewReplacer(".", "", ",", "")
)

// ParseCost reads an amount of money into cents, with the currency its sign
// or code names: "$1,299.00", "1.299,00 €", "EUR 12", "1 299,5".
func ParseCost(s string) (int64, string, error) {
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
	s = spaces.Replace(s)
	// The last separator followed by one or two digits is the decimal one;
	// every other is a thousands separator.
	if i := strings.LastIndexAny(s, ".,"); i >= 0 && len(s)-i-1 <= 2 && len(s)-i-1 > 0 {
		s = separators.Replace(s[:i]) + "." + s[i+1:]
	} else {
		s = separators.Replace(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e13 {
		return 0, "", fmt.Errorf("%q is not an amount of money", orig)
	}
	return int64(f*100 + 0.5), cur, nil
}

func isCode(s string) bool {
	return len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}
