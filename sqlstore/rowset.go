package sqlstore

import (
	"slices"
	"strings"
)

// RowSet is rows of a table for one statement, InsertRows or QueryRows:
// each row holds the values of Columns of Table, in order, of the types
// stores bind (nil, strings, JSON, ints and int64s and pointers to them,
// times).
type RowSet struct {
	Table   string
	Columns []string
	Rows    [][]any
}

// JSON is JSON text for a JSON column. Exec binds it as text, as it would a
// string; an engine that carries a RowSet as JSON keeps it as the JSON it
// holds, not as a string.
type JSON string

// Assignments sets each of columns but those kept to the value the
// conflicting row would have had.
func Assignments(columns []string, kept ...string) string {
	var set []string
	for _, col := range columns {
		if !slices.Contains(kept, col) {
			set = append(set, col+" = excluded."+col)
		}
	}
	return strings.Join(set, ", ")
}
