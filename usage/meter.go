// Package usage meters what each tenant uses on this node, per day, and
// writes it to the catalog at least every FlushEvery; it also holds each
// tenant to its monthly quotas, from every node's counts.
package usage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quartermaster/qm"
)

// FlushEvery is how often a node writes its counts: a node killed loses
// at most this much of them, and quotas see other nodes' use this late.
const FlushEvery = 5 * time.Second

// Key names one count: a tenant's meter on a day.
type Key struct {
	Tenant, Day, Meter string
}

// Store keeps what the nodes metered.
type Store interface {
	// Save writes node's running totals. Saving the same totals again
	// changes nothing, so a retried save never counts twice.
	Save(ctx context.Context, node string, totals map[Key]int64) error
	// Month returns every node's totals of month (YYYY-MM), by tenant id
	// and meter.
	Month(ctx context.Context, month string) (map[string]map[string]int64, error)
	// QuotaState records quota's state for tenant t in month, and, when it
	// changed, says so in the tenant's audit log; it reports whether it
	// changed.
	QuotaState(ctx context.Context, t *qm.Tenant, month string, q qm.Quota) (bool, error)
}

// Meter counts one node's use. Its methods may be called on a nil Meter,
// which counts nothing and holds no one to a quota.
type Meter struct {
	node  string
	store Store
	now   func() time.Time
	log   *slog.Logger

	mu     sync.Mutex
	totals map[Key]int64 // this node's, since it started
	// saved are every node's totals of month as last read, by tenant and
	// meter; pending is what this node counted since, by the same.
	month   string
	saved   map[string]map[string]int64
	pending map[string]map[string]int64
	// tenants are the tenants counted lately, as last seen: their quotas
	// are checked at each flush.
	tenants map[string]*qm.Tenant
	// states are the quota states last recorded this month (statesOf), by
	// tenant and quota; only Flush uses them.
	states   map[string]string
	statesOf string
}

// New returns a Meter for node (a name no other run of any node has)
// writing to store.
func New(node string, store Store, now func() time.Time, log *slog.Logger) *Meter {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Meter{node: node, store: store, now: now, log: log, totals: map[Key]int64{},
		saved: map[string]map[string]int64{}, pending: map[string]map[string]int64{}, tenants: map[string]*qm.Tenant{}, states: map[string]string{}}
}

// Add counts n of meter for tenant t, today.
func (m *Meter) Add(t *qm.Tenant, meter string, n int64) {
	if m == nil || n == 0 {
		return
	}
	now := m.now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.totals[Key{t.ID, now.Format(time.DateOnly), meter}] += n
	if m.pending[t.ID] == nil {
		m.pending[t.ID] = map[string]int64{}
	}
	m.pending[t.ID][meter] += n
	m.tenants[t.ID] = t
}

// used is tenant id's use of quota q this month, as far as this node
// knows: every node's saved totals and this node's since.
func (m *Meter) used(id string, q qm.Limit) int64 {
	var n int64
	family := qm.QuotaMeter[q]
	for _, counts := range []map[string]int64{m.saved[id], m.pending[id]} {
		for meter, v := range counts {
			if qm.InFamily(meter, family) {
				n += v
			}
		}
	}
	return n
}

// Allow checks that tenant t may use n more of monthly quota q:
// ELimitReached once it is used up, until the month turns or the limit is
// raised.
func (m *Meter) Allow(t *qm.Tenant, q qm.Limit, n int64) error {
	limit := int64(t.Limits.Value(q))
	if m == nil || limit == 0 {
		return nil
	}
	m.mu.Lock()
	used := m.used(t.ID, q)
	m.mu.Unlock()
	if used+n <= limit {
		return nil
	}
	def, _ := qm.LimitDefOf(q)
	return &qm.Error{Code: qm.ELimitReached, Message: fmt.Sprintf("the tenant's plan allows %d %s (%s), and it has used %d this month", limit, def.Noun, q, used),
		Limit: &qm.LimitReached{Limit: q, Value: limit, Count: used}}
}

// Run writes the counts every FlushEvery until ctx is done, then once more.
func (m *Meter) Run(ctx context.Context) error {
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.Flush(context.WithoutCancel(ctx))
			return nil
		case <-tick.C:
			m.Flush(ctx)
		}
	}
}

// Flush writes this node's counts, reads every node's totals of the month
// back for the quotas, and records each quota whose state changed. A
// failure is logged; the counts stay, for the next flush.
func (m *Meter) Flush(ctx context.Context) {
	now := m.now().UTC()
	today, month := now.Format(time.DateOnly), now.Format("2006-01")
	m.mu.Lock()
	totals := make(map[Key]int64, len(m.totals))
	for k, v := range m.totals {
		totals[k] = v
	}
	pending := m.pending
	m.pending = map[string]map[string]int64{}
	m.mu.Unlock()
	if err := m.store.Save(ctx, m.node, totals); err != nil {
		m.restore(pending)
		m.log.Error("usage: save counts", "err", err)
		return
	}
	saved, err := m.store.Month(ctx, month)
	if err != nil {
		m.restore(pending)
		m.log.Error("usage: read the month's counts", "err", err)
		return
	}
	m.mu.Lock()
	m.month, m.saved = month, saved
	// Yesterday's counts are saved for good: keep only today's.
	for k := range m.totals {
		if k.Day < today && totals[k] == m.totals[k] {
			delete(m.totals, k)
		}
	}
	tenants := m.tenants
	m.tenants = map[string]*qm.Tenant{}
	m.mu.Unlock()
	if m.statesOf != month {
		clear(m.states)
		m.statesOf = month
	}
	for _, t := range tenants {
		for _, q := range qm.Quotas {
			limit := int64(t.Limits.Value(q))
			m.mu.Lock()
			used := m.used(t.ID, q)
			m.mu.Unlock()
			state := qm.Quota{Quota: q, Used: used, Limit: limit, State: qm.QuotaStateOf(used, limit)}
			// The store is asked only when the state may have changed:
			// not every tenant every flush.
			key := t.ID + "/" + string(q)
			if known, ok := m.states[key]; ok && known == state.State {
				continue
			}
			if _, err := m.store.QuotaState(ctx, t, month, state); err != nil {
				m.log.Error("usage: quota state", "tenant", t.Slug, "quota", q, "err", err)
				continue
			}
			m.states[key] = state.State
		}
	}
}

// restore puts back counts a failed flush took, for the quotas to see.
func (m *Meter) restore(pending map[string]map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, counts := range pending {
		if m.pending[id] == nil {
			m.pending[id] = map[string]int64{}
		}
		for meter, v := range counts {
			m.pending[id][meter] += v
		}
	}
}
