package sqlstore

import (
	"strconv"
	"strings"
)

// Args are a statement's arguments, gathered as the statement is built:
// Add appends one and returns its placeholder, so a statement made of parts
// never counts $N by hand.
type Args []any

// Add appends v and returns its placeholder: $1 for the first.
func (a *Args) Add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// List appends each of vs and returns their placeholders, comma-separated,
// for IN (…).
func (a *Args) List(vs ...any) string {
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = a.Add(v)
	}
	return strings.Join(marks, ", ")
}
