package qm

import (
	"context"
	"time"
)

// Change is one field's value before and after a change. Secrets are never
// recorded.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// AuditEntry is one change to a tenant's data or access, in that tenant's
// audit log.
type AuditEntry struct {
	ID           string            `json:"id"`
	At           time.Time         `json:"at"`
	ActorKind    PrincipalKind     `json:"actor_kind"`
	ActorID      string            `json:"actor_id,omitempty"`
	ActorName    string            `json:"actor_name,omitempty"`
	Action       string            `json:"action"`
	ResourceType string            `json:"resource_type"`
	ResourceID   string            `json:"resource_id"`
	Changes      map[string]Change `json:"changes,omitempty"`
	RemoteAddr   string            `json:"remote_addr,omitempty"`
	RequestID    string            `json:"request_id,omitempty"`
}

// AuditFilter narrows an audit log listing. Entries come newest first.
type AuditFilter struct {
	Action       string
	ResourceType string
	ResourceID   string
	ActorID      string
	Since, Until time.Time
	// Before is a cursor: only entries older than the entry with this ID.
	Before string
	// Limit: 0 means 50; more than 1000 is cut to 1000.
	Limit int
}

// AuditService reads the audit log of the tenant in scope. Entries are
// written by the stores, in the same transaction as the change they record.
type AuditService interface {
	// AuditLog lists entries matching f. EInvalid for a bad cursor.
	AuditLog(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// CountAuditLog counts the entries matching f, on every page (the
	// cursor is ignored).
	CountAuditLog(ctx context.Context, f AuditFilter) (int, error)
}

// OperatorAuditEntry is one action of the operator (or of the server's own
// jobs, as the system) on a tenant, a plan or the device inventory, in the
// operator's audit log. The catalog keeps it beyond the tenant's purge, so
// the tenant is named by text: its id and slug as they were.
type OperatorAuditEntry struct {
	ID        string        `json:"id"`
	At        time.Time     `json:"at"`
	ActorKind PrincipalKind `json:"actor_kind"`
	ActorID   string        `json:"actor_id,omitempty"`
	ActorName string        `json:"actor_name"`
	// Action is what was done: tenant.create, tenant.purge, device.assign…
	Action     string `json:"action"`
	TenantID   string `json:"tenant_id,omitempty"`
	TenantSlug string `json:"tenant_slug,omitempty"`
	// Details say what the action did: for a purge, the rows removed by
	// table and the verification; for a move, where from and where to.
	Details    map[string]any `json:"details"`
	RemoteAddr string         `json:"remote_addr,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
}

// OperatorAuditFilter narrows the operator's audit log. Entries come
// newest first.
type OperatorAuditFilter struct {
	// Tenant is a tenant's slug; Action an action, such as tenant.purge.
	Tenant string
	Action string
	// Before is a cursor: only entries older than the entry with this ID.
	Before string
	// Limit: 0 means 50; more than 1000 is cut to 1000.
	Limit int
}
