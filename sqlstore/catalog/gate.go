package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// The gate: every connection a router hands out for a tenant's data
// passes through its node's gate, which counts the work in flight for
// each tenant. A move pauses a tenant's writes at the gate of every node
// serving (its own directly, the others through WatchMoves) and waits
// until each has drained what was in flight: after that, nothing writes
// the tenant's old copy, whatever copy of the tenant a request, a job or
// a background task carries in its context. Once the tenant is switched,
// the gate refuses work for it at the place it left, so a context that
// outlived the move cannot write there either.

// gate is one node's record of the work in flight per tenant.
type gate struct {
	mu      sync.Mutex
	drained *sync.Cond // signalled when a paused tenant's work ends
	tenants map[string]*gated
}

// gated is one tenant at the gate: the work in flight, the pause it is
// under (its id, "" for none), the last pause lifted (so a watcher late
// to see a pause does not take it up again), and, once a pause is
// lifted, where the tenant is served now.
type gated struct {
	inFlight int
	paused   string
	lifted   string
	at       *qm.Placement
}

func (g *gate) entry(id string) *gated {
	if g.tenants == nil {
		g.tenants = map[string]*gated{}
		g.drained = sync.NewCond(&g.mu)
	}
	e := g.tenants[id]
	if e == nil {
		e = &gated{}
		g.tenants[id] = e
	}
	return e
}

// forget drops an entry that holds nothing.
func (g *gate) forget(id string, e *gated) {
	if e.inFlight == 0 && e.paused == "" && e.lifted == "" && e.at == nil {
		delete(g.tenants, id)
	}
}

// enter admits work for tenant t at its placement, and returns the call
// that ends it: refused while t is paused, and at a place t has left.
func (g *gate) enter(t *qm.Tenant) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.entry(t.ID)
	if e.paused != "" || e.at != nil && *e.at != t.Placement {
		g.forget(t.ID, e)
		return nil, qm.Moving(t)
	}
	e.inFlight++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		e.inFlight--
		if e.inFlight == 0 {
			g.drained.Broadcast()
			g.forget(t.ID, e)
		}
	}, nil
}

// pause stops new work for tenant id under the pause called pause, and
// waits until the work in flight is over. A pause already lifted is not
// taken up again.
func (g *gate) pause(ctx context.Context, id, pause string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.entry(id)
	if e.lifted == pause {
		return nil
	}
	e.paused = pause
	// The wait ends with the work, or with ctx: a waker wakes every
	// waiter, who looks again.
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.drained.Broadcast()
	})
	defer stop()
	for e.inFlight > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for the work in flight on tenant %s: %w", id, err)
		}
		g.drained.Wait()
	}
	return nil
}

// lift ends the pause of tenant id: it is served again at at (where it
// moved, or was all along), and nowhere else.
func (g *gate) lift(id, pause string, at qm.Placement) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.entry(id)
	if e.paused == pause {
		e.paused = ""
	}
	e.lifted, e.at = pause, &at
}

// pausedIDs lists the tenants paused at the gate, with their pauses.
func (g *gate) pausedIDs() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{}
	for id, e := range g.tenants {
		if e.paused != "" {
			out[id] = e.paused
		}
	}
	return out
}

// unfenced marks a context whose work passes the gate uncounted: a move's
// own reads of the old copy and writes to the new one.
type unfenced struct{}

// Unfenced returns ctx for the work of a move itself, which passes the
// gate while the tenant is paused, at either of its places.
func Unfenced(ctx context.Context) context.Context { return context.WithValue(ctx, unfenced{}, true) }

// Scoped returns the tenant in ctx if its data may be served by a build
// whose newest schema version is latest (it must be active, and its data
// not newer than this build knows), and admits the work at the node's
// gate: the caller calls the func returned when the work is over. Routers
// call it before handing out a connection.
func (s *TenantService) Scoped(ctx context.Context, latest int, log *slog.Logger) (*qm.Tenant, func(), error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case t.SchemaVersion > latest:
		log.Error("refusing to serve tenant: its data is at a newer schema version than this build knows; upgrade the server",
			"tenant", t.Slug, "tenant_version", t.SchemaVersion, "known_version", latest)
		return nil, nil, qm.Errorf(qm.ETenantNewer, "tenant %s is at schema version %d, newer than this server's %d", t.Slug, t.SchemaVersion, latest)
	case t.State != qm.StateActive:
		return nil, nil, qm.Errorf(qm.ETenantInert, "tenant %s is %s", t.Slug, t.State)
	case ctx.Value(unfenced{}) != nil:
		return t, noLeave, nil
	}
	leave, err := s.gate.enter(t)
	if err != nil {
		return nil, nil, err
	}
	return t, leave, nil
}

func noLeave() {}
