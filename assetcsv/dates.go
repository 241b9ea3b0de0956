package assetcsv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/csvfile"
)

// dateOrder is the order of a date written in numbers only: 13/4/16 is
// day first, 4/13/16 month first.
type dateOrder int

const (
	orderUnknown dateOrder = iota
	dayFirst
	monthFirst
	yearFirst // only dates that say their order: YYYY-MM-DD and the like
)

func (o dateOrder) String() string {
	return [...]string{"unknown", "day/month/year", "month/day/year", "year-month-day"}[o]
}

// ParseDateFormat reads the order a date format gives: DD/MM/YYYY,
// MM/DD/YY, YYYY-MM-DD (or DMY, MDY, YMD; any case, any separators). ""
// gives none: each column's order is inferred. EInvalid for anything else.
func ParseDateFormat(s string) (dateOrder, error) {
	if strings.TrimSpace(s) == "" {
		return orderUnknown, nil
	}
	var letters []rune
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == 'D' || c == 'M' || c == 'Y':
			if len(letters) == 0 || letters[len(letters)-1] != c {
				letters = append(letters, c)
			}
		case c >= 'A' && c <= 'Z':
			letters = append(letters, '?')
		}
	}
	switch string(letters) {
	case "DMY":
		return dayFirst, nil
	case "MDY":
		return monthFirst, nil
	case "YMD":
		return yearFirst, nil
	}
	return orderUnknown, qm.Errorf(qm.EInvalid, "date format %q is not one of DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD (YY reads two-digit years)", s)
}

// errAmbiguous is a date that could be day/month or month/day, read
// where the order is not known.
var errAmbiguous = errors.New("could be day/month or month/day")

// layouts are the forms whose order no column needs to tell.
var layouts = []string{"2006-01-02", "2006/01/02", "2006-1-2", "2006/1/2", "2006.01.02", "02.01.2006", "2.1.2006",
	"2 Jan 2006", "02 Jan 2006", "Jan 2, 2006", "January 2, 2006", "2 January 2006", "2-Jan-06", "02-Jan-2006",
	"2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05"}

// pivot is the first two-digit year read as of the 1900s: 00–69 are
// 2000–2069, 70–99 are 1970–1999, as spreadsheets read them.
const pivot = 70

// parseDate reads a date as people write it, in order when a number-only
// date needs one: 2025-03-14, 14.03.2025, 14 Mar 2025, Mar 14, 2025, and
// 14/03/2025, 3/14/25 and the like. says is the order the value itself
// gives (a day over 12 tells), whether or not it is a date.
func parseDate(s string, order dateOrder) (date string, says dateOrder, err error) {
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), orderUnknown, nil
		}
	}
	notADate := fmt.Errorf("%q is not a date: write it as YYYY-MM-DD", s)
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '-' })
	if len(parts) != 3 || len(parts[0]) > 2 || len(parts[1]) > 2 || (len(parts[2]) != 2 && len(parts[2]) != 4) {
		return "", orderUnknown, notADate
	}
	var n [3]int
	for i, p := range parts {
		if n[i], err = strconv.Atoi(p); err != nil || n[i] < 0 {
			return "", orderUnknown, notADate
		}
	}
	a, b, year := n[0], n[1], n[2]
	switch {
	case len(parts[2]) == 2 && year < pivot:
		year += 2000
	case len(parts[2]) == 2:
		year += 1900
	}
	switch {
	case a > 12 && b > 12:
		return "", orderUnknown, notADate
	case a > 12:
		says = dayFirst
	case b > 12:
		says = monthFirst
	}
	if order == orderUnknown {
		order = says
	}
	switch {
	case order == yearFirst:
		return "", says, fmt.Errorf("%q is not in the form YYYY-MM-DD", s)
	case order == orderUnknown && a != b:
		return "", says, errAmbiguous
	}
	day, month := a, b
	if order == monthFirst {
		day, month = b, a
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month {
		return "", says, fmt.Errorf("%q is not a date in %s order", s, order)
	}
	return t.Format(time.DateOnly), says, nil
}

// dateColumn is a column of dates, and the order of its number-only
// dates: given by the date format option, or told by its first value
// whose day is over 12.
type dateColumn struct {
	index   int
	name    string
	order   dateOrder
	given   bool
	decider string // the value that told the order, and its line
}

// read reads the column's value v on line. bad is what is wrong with the
// value, for the row; err ends the import.
//
// The order is inferred from all the column's values without holding
// them: each value that tells its order decides the column for the rows
// after it; and the first value that cannot tell while nothing has
// decided yet looks ahead, through the rest of the file, for the first
// that can (csvfile spools what it reads ahead to disk, so memory stays
// flat, and a file whose dates all tell, or are ISO, is read once). A
// column that no value decides is reported once, as an error for the file.
func (c *dateColumn) read(r *csvfile.Reader, v string, line int) (date string, bad, err error) {
	d, says, bad := parseDate(v, c.order)
	if errors.Is(bad, errAmbiguous) {
		if err := r.Lookahead(c.decide); err != nil {
			return "", nil, err
		}
		if c.order == orderUnknown {
			return "", nil, qm.Errorf(qm.EInvalid, "%s: no date in the column tells whether it is day/month or month/day (line %d: %q): "+
				"give the date format (DD/MM/YYYY or MM/DD/YYYY)", c.name, line, v)
		}
		d, says, bad = parseDate(v, c.order)
	}
	if bad != nil && !c.given && c.decider != "" {
		bad = fmt.Errorf("%w: the column's dates are %s, as %s tells", bad, c.order, c.decider)
	}
	if c.order == orderUnknown && says != orderUnknown {
		c.order, c.decider = says, fmt.Sprintf("%q on line %d", v, line)
	}
	return d, bad, nil
}

// decide takes the order of the column from rec, when its value tells
// one, and says whether to read on.
func (c *dateColumn) decide(rec csvfile.Record) bool {
	if rec.Err != nil || c.index >= len(rec.Fields) {
		return true
	}
	v := strings.TrimSpace(rec.Fields[c.index])
	if _, says, _ := parseDate(v, orderUnknown); says != orderUnknown {
		c.order, c.decider = says, fmt.Sprintf("%q on line %d", v, rec.Line)
		return false
	}
	return true
}
