// Package live tells the clients watching a tenant's fleet (the console's
// map, over Server-Sent Events) which devices stored new points, as soon
// as the points are committed. It is an in-process hub: each node tells
// the clients connected to it of the points it committed itself, and of
// those other nodes committed (catalog.PointNews brings their news).
package live

import (
	"sync"

	"github.com/quartermaster/qm"
)

// MaxPending bounds the devices a subscription holds news of before its
// client takes them; news of more is dropped (the client hears of those
// devices with their next points).
const MaxPending = 4096

// Hub passes the point writer's news to the subscribers of each tenant.
// Publishing never waits for a subscriber: news of a device a subscriber
// has not yet taken is merged with the news before it, so a slow client
// gets each device's newest state once, not every step behind.
type Hub struct {
	mu     sync.Mutex
	subs   map[string]map[*Subscription]struct{} // tenant id → its subscribers
	closed bool
}

var _ qm.PointEvents = (*Hub)(nil)

// NewHub returns a hub without subscribers.
func NewHub() *Hub {
	return &Hub{subs: map[string]map[*Subscription]struct{}{}}
}

// Subscription is one client's news of a tenant's devices.
type Subscription struct {
	hub    *Hub
	tenant string

	mu      sync.Mutex
	pending []string        // device ids, in the order their news came
	queued  map[string]bool // the ids in pending
	dropped int
	ready   chan struct{} // holds a token while pending is not empty
	done    chan struct{} // closed when the subscription ends
	ended   bool
}

// Subscribe starts a subscription to the news of tenant tenantID's
// devices. Close it when done. After Close of the hub, the subscription
// is born ended.
func (h *Hub) Subscribe(tenantID string) *Subscription {
	s := &Subscription{hub: h, tenant: tenantID, queued: map[string]bool{}, ready: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.end()
		return s
	}
	if h.subs[tenantID] == nil {
		h.subs[tenantID] = map[*Subscription]struct{}{}
	}
	h.subs[tenantID][s] = struct{}{}
	return s
}

// PointsCommitted passes news of deviceIDs to the tenant's subscribers.
func (h *Hub) PointsCommitted(tenantID string, deviceIDs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[tenantID] {
		s.add(deviceIDs)
	}
}

// Subscribers counts the subscriptions of a tenant (for tests and
// metrics).
func (h *Hub) Subscribers(tenantID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[tenantID])
}

// Close ends every subscription, and every later one at once: the
// server is shutting down.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for tenant, subs := range h.subs {
		for s := range subs {
			s.end()
		}
		delete(h.subs, tenant)
	}
}

func (s *Subscription) add(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		switch {
		case s.queued[id]:
		case len(s.pending) >= MaxPending:
			s.dropped++
		default:
			s.queued[id] = true
			s.pending = append(s.pending, id)
		}
	}
	if len(s.pending) > 0 {
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
}

// Ready has a value when there is news to Take.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Done is closed when the subscription ends: closed by its client, or by
// the hub's Close.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Take returns the ids of the devices with news since the last Take, in
// the order their news came, each once, and how many were dropped.
func (s *Subscription) Take() (deviceIDs []string, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, n := s.pending, s.dropped
	s.pending, s.queued, s.dropped = nil, map[string]bool{}, 0
	select { // nothing is left to be ready for
	case <-s.ready:
	default:
	}
	return ids, n
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if subs := s.hub.subs[s.tenant]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(s.hub.subs, s.tenant)
		}
	}
	s.end()
}

// end closes done once; the hub's lock is held.
func (s *Subscription) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended = true
		close(s.done)
	}
}
