// Package tenancy carries the tenant a request acts for inside its
// context.Context. Only the edges (HTTP authentication, device protocols, the
// CLI) call WithTenant; everything else reads the tenant with FromContext.
package tenancy

import (
	"context"

	"github.com/quartermaster/qm"
)

// key is private so no other package can write or shadow the scope.
type key struct{}

// ErrNoTenant is returned when tenant data is reached from a context that
// carries no tenant scope.
var ErrNoTenant = qm.Errorf(qm.ENoTenant, "no tenant in scope")

// WithTenant returns a copy of ctx scoped to t. It panics if ctx is already
// scoped to a different tenant: the scope is written once, at the edge, and
// re-scoping is a programming error, not a condition to handle.
func WithTenant(ctx context.Context, t *qm.Tenant) context.Context {
	if prev, ok := ctx.Value(key{}).(*qm.Tenant); ok && prev.ID != t.ID {
		panic("tenancy: context already scoped to another tenant")
	}
	return context.WithValue(ctx, key{}, t)
}

// FromContext returns the tenant ctx is scoped to, or ErrNoTenant.
func FromContext(ctx context.Context) (*qm.Tenant, error) {
	if t, ok := ctx.Value(key{}).(*qm.Tenant); ok && t != nil {
		return t, nil
	}
	return nil, ErrNoTenant
}
