package tenancy

import (
	"context"

	"github.com/quartermaster/qm"
)

type principalKey struct{}

type originKey struct{}

// Origin says where a request came from, for the audit log.
type Origin struct {
	RemoteAddr string
	RequestID  string
}

// WithPrincipal returns a copy of ctx acting as p. Only the edges call it.
func WithPrincipal(ctx context.Context, p *qm.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns who ctx acts as. A context without a principal acts
// as the system itself (the command line, background jobs).
func PrincipalFrom(ctx context.Context) *qm.Principal {
	if p, ok := ctx.Value(principalKey{}).(*qm.Principal); ok && p != nil {
		return p
	}
	return &qm.Principal{Kind: qm.PrincipalSystem, Name: "system"}
}

// WithOrigin returns a copy of ctx carrying where the request came from.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns where the request in ctx came from; zero without one.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}
