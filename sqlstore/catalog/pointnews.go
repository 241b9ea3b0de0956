package catalog

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// PointsChannel is the PostgreSQL channel on which the nodes tell each
// other which devices stored new points.
const PointsChannel = "qm_points"

// Bounds of the news PointNews holds and sends.
const (
	// maxNewsPending bounds the devices of a tenant whose news waits to be
	// sent; news of more is dropped (the console hears of those devices
	// with their next points), as the live hub drops it.
	maxNewsPending = 4096
	// devicesPerNotice bounds the devices one notice names, so that its
	// payload stays under maxNoticePayload: 39 bytes a quoted id and its
	// comma, and about 110 for the rest.
	devicesPerNotice = 180
)

// PointNews carries the point writer's news (qm.PointEvents) between the
// nodes sharing the catalog, so a client watching a tenant's fleet live
// on one node hears of the points another node committed. It sends each
// tenant's news in a notice after the commit, from its own goroutine, and
// passes the news other nodes send to local, this node's live hub, under
// the tenant the notice names; news of this node's own commits reaches
// local from the point writer directly.
//
// The news is a hint, not a record: a notice is lost when the node dies
// between its commit and the notice, or while a node's listening
// connection is down, and the clients read what changed from storage.
// On an engine without notices (SQLite, which one node serves) it does
// nothing.
type PointNews struct {
	notices Notices
	origin  string
	local   qm.PointEvents

	mu      sync.Mutex
	pending map[string][]string // tenant id → device ids, not yet sent
	queued  map[[2]string]bool  // (tenant id, device id) in pending
	order   []string            // tenants with pending news, first come first
	ready   chan struct{}       // holds a token while pending is not empty
}

var _ qm.PointEvents = (*PointNews)(nil)

// pointNotice is a notice's payload.
type pointNotice struct {
	Origin  string   `json:"origin"`
	Tenant  string   `json:"tenant"`
	Devices []string `json:"devices"`
}

// NewPointNews returns the news of the nodes sharing s's catalog, passed
// to local (this node's live hub) once Run runs.
func NewPointNews(s *TenantService, local qm.PointEvents) *PointNews {
	return &PointNews{notices: s.notices, origin: s.origin, local: local,
		pending: map[string][]string{}, queued: map[[2]string]bool{}, ready: make(chan struct{}, 1)}
}

// PointsCommitted implements qm.PointEvents: it queues news of the
// devices for the other nodes, merged with the tenant's news not yet sent,
// and returns at once.
func (n *PointNews) PointsCommitted(tenantID string, deviceIDs []string) {
	if n.notices == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range deviceIDs {
		k := [2]string{tenantID, id}
		if n.queued[k] || len(n.pending[tenantID]) >= maxNewsPending {
			continue
		}
		if len(n.pending[tenantID]) == 0 {
			n.order = append(n.order, tenantID)
		}
		n.queued[k] = true
		n.pending[tenantID] = append(n.pending[tenantID], id)
	}
	select {
	case n.ready <- struct{}{}:
	default:
	}
}

// Run sends this node's news and passes on the other nodes', until ctx
// is done. Every node that serves runs it beside WatchChanges.
func (n *PointNews) Run(ctx context.Context, log *slog.Logger) error {
	if n.notices == nil {
		<-ctx.Done()
		return nil
	}
	go keepListening(ctx, log, "point news", func(ctx context.Context) error {
		return n.notices.Listen(ctx, PointsChannel, func() {}, n.heard)
	})
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.ready:
		}
		// What comes while these are sent waits for the next round, merged.
		payloads := n.take()
		if len(payloads) == 0 {
			continue
		}
		if err := n.notices.Notify(ctx, PointsChannel, payloads); err != nil && ctx.Err() == nil {
			log.Warn("send point news to the other nodes", "err", err, "notices", len(payloads))
		}
	}
}

// take empties the pending news into notices' payloads, a tenant's news
// in one or more of its own.
func (n *PointNews) take() []string {
	n.mu.Lock()
	pending, order := n.pending, n.order
	n.pending, n.queued, n.order = map[string][]string{}, map[[2]string]bool{}, nil
	n.mu.Unlock()
	var payloads []string
	for _, tenant := range order {
		for ids := range slices.Chunk(pending[tenant], devicesPerNotice) {
			p, err := json.Marshal(pointNotice{Origin: n.origin, Tenant: tenant, Devices: ids})
			if err != nil || len(p) > maxNoticePayload {
				continue // ids are UUIDs: neither happens
			}
			payloads = append(payloads, string(p))
		}
	}
	return payloads
}

// heard passes a notice another node sent to local, under the tenant it
// names. A payload that is not a notice of well-formed ids is dropped.
func (n *PointNews) heard(payload string) {
	var p pointNotice
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p.Origin == n.origin || !sqlstore.ValidID(p.Tenant) || len(p.Devices) == 0 {
		return
	}
	for _, id := range p.Devices {
		if !sqlstore.ValidID(id) {
			return
		}
	}
	n.local.PointsCommitted(p.Tenant, p.Devices)
}
