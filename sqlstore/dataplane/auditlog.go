package dataplane

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// AuditStore is the qm.AuditService on any engine and tier.
type AuditStore struct {
	router sqlstore.Router
}

var _ qm.AuditService = (*AuditStore)(nil)

// NewAuditStore returns an AuditStore reading through router.
func NewAuditStore(router sqlstore.Router) *AuditStore { return &AuditStore{router: router} }

// AuditLog implements qm.AuditService.
func (s *AuditStore) AuditLog(ctx context.Context, f qm.AuditFilter) ([]*qm.AuditEntry, error) {
	var err error
	if f.Limit, err = sqlstore.AuditPage(f.Limit, f.Before); err != nil {
		return nil, err
	}
	var entries []*qm.AuditEntry
	err = s.router.View(ctx, func(c sqlstore.Conn) error {
		where, args := auditWhere(c, f)
		rows, err := c.Query(ctx, `SELECT `+sqlstore.AuditColumns+` FROM audit_log WHERE `+where+` ORDER BY id DESC LIMIT `+args.Add(f.Limit), args...)
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

// CountAuditLog implements qm.AuditService.
func (s *AuditStore) CountAuditLog(ctx context.Context, f qm.AuditFilter) (int, error) {
	f.Before = ""
	var n int
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		where, args := auditWhere(c, f)
		if err := c.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE `+where, args...).Scan(&n); err != nil {
			return fmt.Errorf("count audit log: %w", err)
		}
		return nil
	})
	return n, err
}

// auditWhere is the WHERE clause that f selects, and its arguments.
func auditWhere(c sqlstore.Conn, f qm.AuditFilter) (string, sqlstore.Args) {
	args := sqlstore.Args{c.TenantID()}
	where := `tenant_id = $1`
	for _, cond := range []struct {
		column string
		val    any
		set    bool
	}{
		{`action =`, f.Action, f.Action != ""},
		{`resource_type =`, f.ResourceType, f.ResourceType != ""},
		{`resource_id =`, f.ResourceID, f.ResourceID != ""},
		{`actor_id =`, f.ActorID, f.ActorID != ""},
		{`at >=`, sqlstore.Timestamp(f.Since), !f.Since.IsZero()},
		{`at <`, sqlstore.Timestamp(f.Until), !f.Until.IsZero()},
		{`id <`, f.Before, f.Before != ""},
	} {
		if cond.set {
			where += " AND " + cond.column + " " + args.Add(cond.val)
		}
	}
	return where, args
}
