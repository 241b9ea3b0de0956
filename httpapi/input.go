package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quartermaster/qm"
)

// Everything a request carries as text passes qm.TextProblem before any
// handler sees it: the path in canonical, the query in route (checkQuery),
// a JSON body in decode (checkJSONText). So no route can store a NUL byte
// or invalid UTF-8, and both engines answer alike: PostgreSQL refuses
// both, SQLite would store them.

// checkQuery refuses a query string the standard library would partly
// drop, text that is not valid UTF-8 or holds NUL, and parameters the
// route does not read: a mistyped filter is an error, not a silent
// "everything".
func checkQuery(r *http.Request, allowed []string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return qm.Errorf(qm.EBadRequest, "the query string cannot be read: %s", queryProblem(err))
	}
	for name, values := range q {
		if p := qm.TextProblem(name); p != "" {
			return qm.Errorf(qm.EBadRequest, "a query parameter name %s", p)
		}
		if !queryAllowed(name, allowed) {
			if len(allowed) == 0 {
				return qm.Errorf(qm.EBadRequest, "unknown query parameter %q: this route takes none", name)
			}
			return qm.Errorf(qm.EBadRequest, "unknown query parameter %q: this route takes %s", name, strings.Join(allowed, ", "))
		}
		for _, v := range values {
			if p := qm.TextProblem(v); p != "" {
				return qm.Errorf(qm.EBadRequest, "query parameter %q %s", name, p)
			}
		}
	}
	return nil
}

// queryAllowed says whether name is one of allowed; "field.*" allows every
// name with that prefix (custom field filters).
func queryAllowed(name string, allowed []string) bool {
	for _, a := range allowed {
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
			return true
		}
		if a == name {
			return true
		}
	}
	return false
}

// queryProblem says what url.ParseQuery refused, without Go's wording.
func queryProblem(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "semicolon") {
		return "a semicolon separates parameters; use & (and %3B for a literal ;)"
	}
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return fmt.Sprintf("bad percent-escape %q", string(esc))
	}
	return msg
}

// checkJSONText walks a JSON body and refuses any string (value or key)
// that is not valid UTF-8 or holds NUL, naming where it is: "name",
// "fields.os", "choices[2]". It works on the raw bytes because
// encoding/json silently turns invalid UTF-8 into U+FFFD, and on the
// decoded strings because "\u0000" decodes to NUL.
func checkJSONText(raw []byte) error {
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u0000`)) {
		return nil // the common case: nothing to find
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []*jsonFrame
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed JSON that decode reports
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok {
			p := qm.TextProblem(s)
			if !utf8.Valid(raw[start:dec.InputOffset()]) {
				p = "is not valid UTF-8"
			}
			if p != "" {
				where, what := top.next(s), "text"
				if top.atKey() {
					what = "a key"
				}
				return &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("%s: %s %s", where, what, p),
					Fields: map[string]string{where: what + " " + p}}
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, &jsonFrame{path: top.next(""), object: tok == json.Delim('{'), key: true})
			top.advance(nil)
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			top.advance(tok)
		}
	}
}

// jsonFrame is one open object or array of a JSON body being walked.
type jsonFrame struct {
	path    string
	object  bool
	key     bool   // in an object: the next string is a key
	lastKey string // in an object: the key whose value comes next
	index   int    // in an array: the next item's index
}

// atKey says whether the next token is an object's key.
func (f *jsonFrame) atKey() bool { return f != nil && f.object && f.key }

// next is the path of the next token (for a key, the path it names); the
// whole body is "body".
func (f *jsonFrame) next(key string) string {
	switch {
	case f == nil:
		return "body"
	case !f.object:
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	case !f.key:
		key = f.lastKey
	}
	if f.path == "body" {
		return key
	}
	return f.path + "." + key
}

// advance moves past one token of f: an object alternates between key and
// value, an array counts its items.
func (f *jsonFrame) advance(tok json.Token) {
	switch {
	case f == nil:
	case !f.object:
		f.index++
	case f.key:
		f.lastKey, _ = tok.(string)
		f.key = false
	default:
		f.key = true
	}
}

// allowedQuery is what a route's query may hold: the parameters it reads,
// and the paging ones if it lists.
func allowedQuery(rt Route) []string {
	q := queryParams[rt.Method+" "+rt.Path]
	if isList(rt) {
		q = append(slices.Clip(q), pageParams...)
	}
	return q
}
