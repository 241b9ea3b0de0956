package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

const operatorAuditColumns = `id, at, actor_kind, actor_id, actor_name, action, tenant_ref, tenant_slug, details, remote_addr, request_id`

// recordOperator writes one entry of the operator's audit log through q
// (the catalog, or the transaction of the change it records): action,
// by the principal in ctx, at, on tenant t (nil for none), with details.
// Every operator action of this package writes its entry here, and
// nothing else writes the table.
func recordOperator(ctx context.Context, q sqlstore.Querier, at time.Time, action string, t *qm.Tenant, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("operator audit %s: %w", action, err)
	}
	var id, slug string
	if t != nil {
		id, slug = t.ID, t.Slug
	}
	p, o := tenancy.PrincipalFrom(ctx), tenancy.OriginFrom(ctx)
	_, err = q.Exec(ctx, `INSERT INTO operator_audit (`+operatorAuditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		sqlstore.NewID(), sqlstore.Timestamp(at), string(p.Kind), p.ID, p.Name, action, id, slug, string(b), o.RemoteAddr, o.RequestID)
	if err != nil {
		return fmt.Errorf("operator audit %s: %w", action, err)
	}
	return nil
}

// RecordOperator writes, now, an entry of the operator's audit log for an
// action on tenant t that changes nothing in the catalog: an export
// (package lifecycle).
func (s *TenantService) RecordOperator(ctx context.Context, t *qm.Tenant, action string, details map[string]any) error {
	return recordOperator(ctx, s.catalog, s.now(), action, t, details)
}

// placeDetails says where a tenant's data lives, for an entry's details.
func placeDetails(t *qm.Tenant) map[string]any {
	return map[string]any{"tier": t.Tier, "placement": t.Placement}
}

// OperatorAudit implements qm.TenantService.
func (s *TenantService) OperatorAudit(ctx context.Context, f qm.OperatorAuditFilter) ([]*qm.OperatorAuditEntry, error) {
	var err error
	if f.Limit, err = sqlstore.AuditPage(f.Limit, f.Before); err != nil {
		return nil, err
	}
	where, args := operatorAuditWhere(f)
	entries, err := sqlstore.QueryAll(ctx, s.catalog, scanOperatorEntry,
		`SELECT `+operatorAuditColumns+` FROM operator_audit`+where+` ORDER BY id DESC LIMIT `+args.Add(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list the operator's audit log: %w", err)
	}
	return entries, nil
}

// CountOperatorAudit implements qm.TenantService.
func (s *TenantService) CountOperatorAudit(ctx context.Context, f qm.OperatorAuditFilter) (int, error) {
	f.Before = ""
	where, args := operatorAuditWhere(f)
	var n int
	if err := s.catalog.QueryRow(ctx, `SELECT count(*) FROM operator_audit`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the operator's audit log: %w", err)
	}
	return n, nil
}

// operatorAuditWhere is the WHERE clause f selects (empty for all), and
// its arguments.
func operatorAuditWhere(f qm.OperatorAuditFilter) (string, sqlstore.Args) {
	var args sqlstore.Args
	var conds []string
	for _, cond := range []struct {
		column string
		val    string
	}{
		{`tenant_slug =`, f.Tenant},
		{`action =`, f.Action},
		{`id <`, f.Before},
	} {
		if cond.val != "" {
			conds = append(conds, cond.column+" "+args.Add(cond.val))
		}
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func scanOperatorEntry(r sqlstore.Row) (*qm.OperatorAuditEntry, error) {
	var e qm.OperatorAuditEntry
	var details string
	if err := r.Scan(&e.ID, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Action, &e.TenantID, &e.TenantSlug,
		&details, &e.RemoteAddr, &e.RequestID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		return nil, fmt.Errorf("operator audit entry %s: details: %w", e.ID, err)
	}
	e.At = e.At.UTC()
	return &e, nil
}

// recordMove writes how a move of tenant from to to ended (action:
// tenant.move when switched, tenant.move_abort when rolled back), with
// where from and where to.
func (s *TenantService) recordMove(ctx context.Context, q sqlstore.Querier, action string, from, to *qm.Tenant) error {
	return recordOperator(ctx, q, s.now(), action, from, map[string]any{"from": placeDetails(from), "to": placeDetails(to)})
}
