package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// AuditStore is the qm.AuditService on any engine and tier.
type AuditStore struct {
	router Router
}

var _ qm.AuditService = (*AuditStore)(nil)

// NewAuditStore returns an AuditStore reading through router.
func NewAuditStore(router Router) *AuditStore { return &AuditStore{router: router} }

const auditColumns = `id, at, actor_kind, actor_id, actor_name, action, resource_type, resource_id, changes, remote_addr, request_id`

// AuditLog implements qm.AuditService.
func (s *AuditStore) AuditLog(ctx context.Context, f qm.AuditFilter) ([]*qm.AuditEntry, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	if f.Before != "" && !ValidID(f.Before) {
		return nil, qm.Errorf(qm.EInvalid, "cursor %q is not an audit entry id", f.Before)
	}
	var entries []*qm.AuditEntry
	err := s.router.View(ctx, func(c Conn) error {
		var where strings.Builder
		args := []any{c.TenantID()}
		where.WriteString(`tenant_id = $1`)
		for _, cond := range []struct {
			sql string
			val any
			set bool
		}{
			{`action = $%d`, f.Action, f.Action != ""},
			{`resource_type = $%d`, f.ResourceType, f.ResourceType != ""},
			{`resource_id = $%d`, f.ResourceID, f.ResourceID != ""},
			{`actor_id = $%d`, f.ActorID, f.ActorID != ""},
			{`at >= $%d`, Timestamp(f.Since), !f.Since.IsZero()},
			{`at < $%d`, Timestamp(f.Until), !f.Until.IsZero()},
			{`id < $%d`, f.Before, f.Before != ""},
		} {
			if cond.set {
				args = append(args, cond.val)
				fmt.Fprintf(&where, " AND "+cond.sql, len(args))
			}
		}
		args = append(args, f.Limit)
		rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %s FROM audit_log WHERE %s ORDER BY id DESC LIMIT $%d`,
			auditColumns, where.String(), len(args)), args...)
		if err != nil {
			return fmt.Errorf("list audit log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e qm.AuditEntry
			var changes string
			if err := rows.Scan(&e.ID, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.ResourceType,
				&e.ResourceID, &changes, &e.RemoteAddr, &e.RequestID); err != nil {
				return fmt.Errorf("list audit log: %w", err)
			}
			if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
				return fmt.Errorf("audit entry %s: changes: %w", e.ID, err)
			}
			e.At = e.At.UTC()
			entries = append(entries, &e)
		}
		return rows.Err()
	})
	return entries, err
}

// Audit records a change in the audit log of the tenant c is bound to,
// inside the caller's transaction, so the change and its record commit or
// roll back together. Who and from where come from ctx. before and after
// are the resource as it was and is (nil for a creation or a deletion);
// the fields that differ are recorded, secrets and timestamps left out.
func Audit(ctx context.Context, c Conn, now time.Time, action, resourceType, resourceID string, before, after any) error {
	changes, err := Changes(before, after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	body, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	p, o := tenancy.PrincipalFrom(ctx), tenancy.OriginFrom(ctx)
	_, err = c.Exec(ctx, `INSERT INTO audit_log (tenant_id, `+auditColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.TenantID(), NewID(), Timestamp(now), string(p.Kind), p.ID, p.Name, action, resourceType, resourceID,
		string(body), o.RemoteAddr, o.RequestID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// unaudited fields are never recorded as changes: timestamps the entry has
// anyway, and anything secret.
var unaudited = map[string]bool{"created_at": true, "updated_at": true, "password": true, "password_hash": true, "secret": true, "token_hash": true, "product_key": true}

// Changes returns the JSON fields that differ between before and after (either
// may be nil), each with both values.
func Changes(before, after any) (map[string]qm.Change, error) {
	b, err := fields(before)
	if err != nil {
		return nil, err
	}
	a, err := fields(after)
	if err != nil {
		return nil, err
	}
	changes := map[string]qm.Change{}
	for k, v := range a {
		if !unaudited[k] && !reflect.DeepEqual(b[k], v) {
			changes[k] = qm.Change{Before: b[k], After: v}
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok && !unaudited[k] {
			changes[k] = qm.Change{Before: v}
		}
	}
	return changes, nil
}

// fields returns v's JSON object form.
func fields(v any) (map[string]any, error) {
	m := map[string]any{}
	if rv := reflect.ValueOf(v); v == nil || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return m, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(body, &m)
}
