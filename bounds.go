package qm

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Every text, amount and date that enters is bounded here, in one place
// that the API, the importer, the CLI and the device protocols share
// through the types' Validate methods, so a value accepted once is stored
// alike on every engine, exports and re-imports exactly, and what is
// derived from it stays in range.
const (
	// MaxCents bounds an amount of money in cents: a hundred billion in
	// the currency's units, far below 2^53, so it survives every
	// spreadsheet and JSON reader that holds numbers as doubles.
	MaxCents = 10_000_000_000_000
	// MinYear and MaxYear bound a calendar date. With at most MaxMonths
	// added (a warranty's end), a date keeps its four-digit year.
	MinYear, MaxYear = 1900, 2999
	// MaxMonths bounds a span in months: a warranty, a depreciation
	// schedule.
	MaxMonths = 1200
	// MaxCustomNumber bounds a custom field's number: integers up to it
	// are exact as doubles.
	MaxCustomNumber = 1e15
)

// TextProblem says what makes s text that no engine may store ("is not
// valid UTF-8", "holds a NUL byte"), or "" if nothing: PostgreSQL refuses
// both, SQLite would store them, so every edge refuses them first.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL byte"
	}
	return ""
}

// ParseDate reads a calendar day, YYYY-MM-DD, from MinYear to MaxYear.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return d, fmt.Errorf("%q is not a date: use YYYY-MM-DD", s)
	}
	if d.Year() < MinYear || d.Year() > MaxYear {
		return d, fmt.Errorf("%q is not between %d-01-01 and %d-12-31", s, MinYear, MaxYear)
	}
	return d, nil
}

// checkDate adds a message to fields when value, if set, is not a date
// ParseDate reads; what names the field in the message.
func checkDate(fields map[string]string, name, what, value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, false
	}
	d, err := ParseDate(value)
	if err != nil {
		fields[name] = fmt.Sprintf("%s must be a date, YYYY-MM-DD, from %d-01-01 to %d-12-31", what, MinYear, MaxYear)
		return d, false
	}
	return d, true
}

// checkCents adds a message to fields when v, if set, is not an amount
// from 0 to MaxCents.
func checkCents(fields map[string]string, name string, v *int64) {
	if v != nil && (*v < 0 || *v > MaxCents) {
		fields[name] = fmt.Sprintf("%s must be from 0 to %d cents", name, int64(MaxCents))
	}
}

// checkMonths adds a message to fields when v is not from least to
// MaxMonths.
func checkMonths(fields map[string]string, name, what string, v, least int) {
	if v < least || v > MaxMonths {
		fields[name] = fmt.Sprintf("%s must be between %d and %d", what, least, MaxMonths)
	}
}
