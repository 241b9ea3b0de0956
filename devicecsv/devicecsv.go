// Package devicecsv reads the operator's device lists: one device a row,
// with the columns ident (or imei), serial, kind, model, firmware and
// notes, named in a header in any case and order.
package devicecsv

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/csvfile"
)

// MaxDevices bounds one file.
const MaxDevices = 100000

// List is the devices of a file, and the line each is on.
type List struct {
	Devices []*qm.Device
	Lines   []int
}

// Read reads every device of a CSV file, with any line ending. Rows are
// checked by the inventory when they are registered (see ByLine); Read
// fails for a file that is not CSV text, has no ident column, names a
// column it does not know, has lines that are not CSV or have more values
// than columns (each named), or holds more than MaxDevices rows.
func Read(in io.Reader) (*List, error) {
	r, err := csvfile.NewReader(in, "")
	if err != nil {
		return nil, err
	}
	header, err := r.ReadHeader()
	if err != nil {
		return nil, err
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
	l := &List{}
	bad := map[int]string{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(l.Devices)+len(bad) == MaxDevices {
			return nil, qm.Errorf(qm.ETooLarge, "more than %d devices in one file: split it", MaxDevices)
		}
		switch {
		case rec.Err != nil:
			bad[rec.Line] = "not CSV: " + rec.Err.Error()
			continue
		case len(rec.Fields) > len(cols):
			bad[rec.Line] = fmt.Sprintf("more values than the header has columns (%d)", len(cols))
			continue
		}
		d := &qm.Device{}
		for i, v := range rec.Fields {
			*map[string]*string{"ident": &d.Ident, "serial": &d.Serial, "kind": &d.Kind, "model": &d.Model,
				"firmware": &d.Firmware, "notes": &d.Notes}[cols[i]] = v
		}
		l.Devices, l.Lines = append(l.Devices, d), append(l.Lines, rec.Line)
	}
	if len(bad) > 0 {
		return nil, lineError(qm.EInvalid, fmt.Sprintf("%d lines are not devices: nothing was registered", len(bad)), bad)
	}
	if len(l.Devices) == 0 {
		return nil, qm.Errorf(qm.EInvalid, "the file has no rows below its header: no device to register")
	}
	return l, nil
}

// ByLine turns an error of registering l, which names devices by their
// place in the list (devices[3]), into one that names their lines, each
// in the message and as a field ("line 5"). Any other error is returned
// as it is.
func (l *List) ByLine(err error) error {
	var e *qm.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	bad := map[int]string{}
	for f, msg := range e.Fields {
		var i int
		if _, scan := fmt.Sscanf(f, "devices[%d]", &i); scan != nil || i < 0 || i >= len(l.Lines) {
			return err
		}
		// Another device of the list a message names, by its line too.
		for j := range l.Lines {
			msg = strings.ReplaceAll(msg, fmt.Sprintf("devices[%d]", j), fmt.Sprintf("line %d", l.Lines[j]))
		}
		bad[l.Lines[i]] = msg
	}
	return lineError(e.Code, e.Message, bad)
}

// lineError is an error with code whose message lists each bad line, in
// order, after msg; each is also a field.
func lineError(code, msg string, bad map[int]string) *qm.Error {
	e := &qm.Error{Code: code, Message: msg, Fields: map[string]string{}}
	for _, line := range slices.Sorted(maps.Keys(bad)) {
		key := "line " + strconv.Itoa(line)
		e.Fields[key] = bad[line]
		e.Message += "\n" + key + ": " + bad[line]
	}
	return e
}
