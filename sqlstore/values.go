package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The conversions between Go values and what queries bind and scan, which
// every store shares.

// NewID returns a new resource id: a UUIDv7, so ids sort by creation time
// and index well, and reveal nothing about other tenants' counts.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// FirstID returns the least id NewID returns at t or later: UUIDv7 ids
// begin with their time in milliseconds, so ids compare as their times.
func FirstID(t time.Time) string {
	ms := t.UnixMilli()
	return fmt.Sprintf("%08x-%04x-7000-8000-000000000000", ms>>16, ms&0xffff)
}

// ValidID reports whether s is an id in canonical form. Anything else
// cannot name a resource, so lookups treat it as not found without asking
// the database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case (r < '0' || r > '9') && (r < 'a' || r > 'f'):
			return false
		}
	}
	return true
}

// Timestamp returns t as stored: UTC, to the microsecond, the finest both
// engines keep.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// Nullable binds s, or NULL for "".
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TimePtr is a nullable time column as scanned: nil for NULL, else in UTC.
func TimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// Micros is t in microseconds since 1970, as points store times.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the time of a stored microsecond count, in UTC.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// SetIf sets *dst to *src when src is set.
func SetIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// LikePattern makes a LIKE pattern, with \ as its escape character, that
// finds q anywhere, ignoring case: q is lower-cased, its own % and _ are
// matched literally.
func LikePattern(q string) string {
	return "%" + EscapeLike(strings.ToLower(q)) + "%"
}

// EscapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
