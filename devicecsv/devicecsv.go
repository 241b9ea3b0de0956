// Package devicecsv reads the operator's device lists: one device a row,
// with the columns ident (or imei), serial, kind, model, firmware and
// notes, named in a header in any case and order.
package devicecsv

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/quartermaster/qm"
)

// MaxDevices bounds one file.
const MaxDevices = 100000

// Read reads every device of a CSV file. Rows are checked by the
// inventory when they are registered; Read fails only for a file that is
// not CSV, has no ident column, names a column it does not know, or holds
// more than MaxDevices rows.
func Read(in io.Reader) ([]*qm.Device, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, qm.Errorf(qm.EInvalid, "the file is empty: the first line must name the columns")
	}
	if err != nil {
		return nil, qm.Errorf(qm.EInvalid, "the file is not readable CSV: %v", err)
	}
	cols := make([]string, len(header))
	hasIdent := false
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch name {
		case "imei":
			name = "ident"
		case "ident", "serial", "kind", "model", "firmware", "notes":
		default:
			return nil, qm.Errorf(qm.EInvalid, "column %q is not one of ident, serial, kind, model, firmware, notes", h)
		}
		hasIdent = hasIdent || name == "ident"
		cols[i] = name
	}
	if !hasIdent {
		return nil, qm.Errorf(qm.EInvalid, "no ident column: every device needs one")
	}
	var ds []*qm.Device
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return ds, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, qm.Errorf(qm.EInvalid, "line %d is not valid CSV: %v", pe.StartLine, pe.Err)
		} else if err != nil {
			return nil, err
		}
		if len(ds) == MaxDevices {
			return nil, qm.Errorf(qm.ETooLarge, "more than %d devices in one file: split it", MaxDevices)
		}
		if len(rec) > len(cols) {
			line, _ := r.FieldPos(0)
			return nil, qm.Errorf(qm.EInvalid, "line %d has more values than the header has columns", line)
		}
		d := &qm.Device{}
		for i, v := range rec {
			*map[string]*string{"ident": &d.Ident, "serial": &d.Serial, "kind": &d.Kind, "model": &d.Model,
				"firmware": &d.Firmware, "notes": &d.Notes}[cols[i]] = v
		}
		ds = append(ds, d)
	}
}
