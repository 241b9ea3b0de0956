package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// AuditColumns are the columns of table audit_log, in the order AuditEntry
// gives their values.
const AuditColumns = `id, at, actor_kind, actor_id, actor_name, action, resource_type, resource_id, changes, remote_addr, request_id`

// AuditColumnList is AuditColumns, one name each.
var AuditColumnList = strings.Split(AuditColumns, ", ")

// Audit records a change in the audit log of the tenant c is bound to,
// inside the caller's transaction, so the change and its record commit or
// roll back together. Who and from where come from ctx. before and after
// are the resource as it was and is (nil for a creation or a deletion);
// the fields that differ are recorded, secrets and timestamps left out.
func Audit(ctx context.Context, c Conn, now time.Time, action, resourceType, resourceID string, before, after any) error {
	entry, err := AuditEntry(ctx, now, action, resourceType, resourceID, before, after)
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, `INSERT INTO audit_log (tenant_id, `+AuditColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, append([]any{c.TenantID()}, entry...)...)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditEntry returns the values of AuditColumns of the entry Audit writes.
func AuditEntry(ctx context.Context, now time.Time, action, resourceType, resourceID string, before, after any) ([]any, error) {
	changes, err := Changes(before, after)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", action, err)
	}
	p, o := tenancy.PrincipalFrom(ctx), tenancy.OriginFrom(ctx)
	return []any{NewID(), Timestamp(now), string(p.Kind), p.ID, p.Name, action, resourceType, resourceID,
		JSON(changes), o.RemoteAddr, o.RequestID}, nil
}

// unaudited fields are never recorded as changes: timestamps the entry has
// anyway, and anything secret.
var unaudited = map[string]bool{"created_at": true, "updated_at": true, "password": true, "password_hash": true, "secret": true, "token_hash": true, "product_key": true}

// Changes returns the fields that differ between before and after (either
// may be nil), as the JSON object an audit entry records: each field by
// name, in order, with its value before and after, null where one of them
// lacks the field.
func Changes(before, after any) ([]byte, error) {
	b, err := fields(before)
	if err != nil {
		return nil, err
	}
	a, err := fields(after)
	if err != nil {
		return nil, err
	}
	null := []byte("null")
	buf := []byte{'{'}
	change := func(name, was, is []byte) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(append(buf, name...), `:{"before":`...)
		buf = append(append(buf, was...), `,"after":`...)
		buf = append(append(buf, is...), '}')
	}
	// Both lists are in order of name: walk them side by side.
	for len(b) > 0 || len(a) > 0 {
		switch {
		case len(a) == 0 || len(b) > 0 && bytes.Compare(b[0].name, a[0].name) < 0:
			change(b[0].name, b[0].value, null)
			b = b[1:]
		case len(b) == 0 || bytes.Compare(b[0].name, a[0].name) > 0:
			if !bytes.Equal(a[0].value, null) {
				change(a[0].name, null, a[0].value)
			}
			a = a[1:]
		default:
			if !bytes.Equal(b[0].value, a[0].value) {
				change(a[0].name, b[0].value, a[0].value)
			}
			a, b = a[1:], b[1:]
		}
	}
	return append(buf, '}'), nil
}

// field is a field of a JSON object: its name, quoted, and its value, as
// written.
type field struct{ name, value []byte }

// fields returns the audited fields of v's JSON object form, in order of
// name.
func fields(v any) ([]field, error) {
	if rv := reflect.ValueOf(v); v == nil || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	obj, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if obj[0] != '{' {
		return nil, fmt.Errorf("audit: %.20s… is not a JSON object", obj)
	}
	// A scan for where each name and value ends, not a parse, which an
	// audit entry for each imported row cannot afford: json.Marshal wrote
	// obj, valid and compact.
	var fs []field
	for i := 1; obj[i] != '}'; {
		if obj[i] == ',' {
			i++
		}
		end := valueEnd(obj, i)
		name := obj[i:end]
		i = end + 1 // past the colon
		end = valueEnd(obj, i)
		if !unaudited[string(name[1:len(name)-1])] {
			fs = append(fs, field{name: name, value: obj[i:end]})
		}
		i = end
	}
	slices.SortFunc(fs, func(x, y field) int { return bytes.Compare(x.name, y.name) })
	return fs, nil
}

// valueEnd returns where the JSON value that starts at obj[i] ends, in a
// compact object.
func valueEnd(obj []byte, i int) int {
	depth, inString := 0, false
	for ; i < len(obj); i++ {
		switch c := obj[i]; {
		case inString && c == '\\':
			i++
		case inString && c == '"':
			inString = false
			if depth == 0 {
				return i + 1
			}
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case c == ',' && depth == 0:
			return i
		}
	}
	return i
}

// AuditPage is how many entries an audit log reads for a page of limit
// (0: 50; more than 1000: 1000), and EBadRequest for a cursor (before, the
// id of the entry the page starts after) the log never gave.
func AuditPage(limit int, before string) (int, error) {
	if before != "" && !ValidID(before) {
		return 0, qm.Errorf(qm.EBadRequest, "the cursor %q is not one this list gave", before)
	}
	switch {
	case limit <= 0:
		return 50, nil
	case limit > 1000:
		return 1000, nil
	}
	return limit, nil
}
