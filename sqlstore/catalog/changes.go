package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// What a node caches of the catalog, as a change names it (the kind of a
// row of catalog_changes).
const (
	// changeTenant: a tenant's row (state, placement, plan, overrides) or
	// a plan's limits; the key is the tenant's id, "" for a plan's tenants.
	changeTenant = "tenant"
	// changeToken: an API token; the key is its id.
	changeToken = "token"
	// changeDevice: a device's credential, custody or way to authenticate;
	// the key is its id and the action its qm.DeviceChange action.
	changeDevice = "device"
	// changeSettings: a device's settings, which the tenant holding it
	// keeps in its own data; the key is the device's id and the action the
	// tenant's id. Nothing is cached of them: the change is published so
	// the node the device is connected to passes them on.
	changeSettings = "settings"
)

// ChangesChannel is the PostgreSQL channel a notice goes out on when a
// change is published (by the trigger of catalog_changes).
const ChangesChannel = "qm_catalog_changes"

// changePoll is how often WatchChanges looks for changes when no notice
// woke it: the whole wait on SQLite, a backstop on PostgreSQL.
const changePoll = 200 * time.Millisecond

// changeKeep is how long a change is kept: far longer than a node takes
// to read it, and than the caches keep anything (their TTL), so a node
// that missed rows has forgotten what they changed anyway.
const changeKeep = 10 * time.Minute

// Notices are how the nodes sharing a catalog tell each other of
// something at once: PostgreSQL's LISTEN and NOTIFY. Engines without
// (SQLite, which one node serves) have none.
type Notices interface {
	// Listen calls heard with the payload of each notice sent on channel,
	// by any node (this one too), from when it calls listening until ctx
	// is done or its connection fails (the error). A notice sent while no
	// connection listens is lost.
	Listen(ctx context.Context, channel string, listening func(), heard func(payload string)) error
	// Notify sends each payload (at most maxNoticePayload bytes) as a
	// notice on channel, at once, in order.
	Notify(ctx context.Context, channel string, payloads []string) error
}

// maxNoticePayload bounds a notice's payload: PostgreSQL refuses one of
// 8000 bytes or more.
const maxNoticePayload = 7999

// publish records, in the catalog transaction q runs in, that what kind
// names under key changed, so every node forgets its copy (WatchChanges).
// Every change of the catalog that affects authorization or limits goes
// through here; the node making it forgets its own copy at once.
func (s *TenantService) publish(ctx context.Context, q sqlstore.Querier, kind, key, action string) error {
	_, err := q.Exec(ctx, `INSERT INTO catalog_changes (kind, key, action, origin, at) VALUES ($1, $2, $3, $4, $5)`,
		kind, key, action, s.origin, sqlstore.Timestamp(s.now()))
	if err != nil {
		return fmt.Errorf("publish a change of %s %s: %w", kind, key, err)
	}
	return nil
}

// SetCacheTTL sets how long this node trusts its copies of tenants,
// tokens and device credentials (qm.TenantCacheTTL by default), for tests
// that show WatchChanges, not the TTL, makes a change reach a node.
func (s *TenantService) SetCacheTTL(ttl time.Duration) {
	s.cache.setTTL(ttl)
	s.identity.tokens.setTTL(ttl)
	s.devices.creds.setTTL(ttl)
}

// WatchChanges makes this node forget its copies of what other nodes (or
// processes) change in the catalog, within changePoll or, on PostgreSQL,
// as soon as the notice arrives; until ctx is done. It prunes changes
// older than changeKeep. Every node that serves runs it beside WatchMoves;
// the caches' TTL stays as a backstop.
func (s *TenantService) WatchChanges(ctx context.Context, log *slog.Logger) error {
	var last int64
	for {
		err := s.catalog.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM catalog_changes`).Scan(&last)
		if err == nil {
			break
		}
		log.Error("watch catalog changes", "err", err)
		if !pause(ctx, changePoll) {
			return nil
		}
	}
	// What was cached before the first look may predate a change.
	s.forgetAll()
	woke := make(chan struct{}, 1)
	if s.notices != nil {
		wake := func() {
			select {
			case woke <- struct{}{}:
			default:
			}
		}
		// Each notice, and each (re)connection, wakes the loop below.
		go keepListening(ctx, log, "catalog changes", func(ctx context.Context) error {
			return s.notices.Listen(ctx, ChangesChannel, wake, func(string) { wake() })
		})
	}
	tick := time.NewTicker(changePoll)
	defer tick.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-woke:
		}
		var err error
		if last, err = s.applyChanges(ctx, last); err != nil && ctx.Err() == nil {
			log.Error("watch catalog changes", "err", err)
		}
		if now := s.now(); now.Sub(pruned) >= changeKeep/10 {
			pruned = now
			if _, err := s.catalog.Exec(ctx, `DELETE FROM catalog_changes WHERE at < $1`, sqlstore.Timestamp(now.Add(-changeKeep))); err != nil && ctx.Err() == nil {
				log.Error("prune catalog changes", "err", err)
			}
		}
	}
}

// keepListening runs listen, again after each failure, until ctx is
// done; what names what it listens for, in the log.
func keepListening(ctx context.Context, log *slog.Logger, what string, listen func(context.Context) error) {
	for {
		err := listen(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listen for "+what+"; trying again shortly", "err", err)
		if !pause(ctx, changePoll) {
			return
		}
	}
}

// pause waits d, reporting false when ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// catalogChange is a row of catalog_changes.
type catalogChange struct {
	seq                       int64
	kind, key, action, origin string
}

// applyChanges forgets what the changes after seq last changed, but
// this node's own (forgotten when made), and returns the last seq read.
func (s *TenantService) applyChanges(ctx context.Context, last int64) (int64, error) {
	var changes []catalogChange
	err := sqlstore.Each(ctx, s.catalog, func(r sqlstore.Row) error {
		var c catalogChange
		if err := r.Scan(&c.seq, &c.kind, &c.key, &c.action, &c.origin); err != nil {
			return err
		}
		changes = append(changes, c)
		return nil
	}, `SELECT seq, kind, key, action, origin FROM catalog_changes WHERE seq > $1 ORDER BY seq`, last)
	if err != nil {
		return last, err
	}
	for _, c := range changes {
		last = c.seq
		if c.origin != s.origin {
			s.forget(ctx, c)
		}
	}
	return last, nil
}

// forget drops this node's copies of what c changed.
func (s *TenantService) forget(ctx context.Context, c catalogChange) {
	switch c.kind {
	case changeTenant:
		s.cache.clear()
	case changeToken:
		s.identity.tokens.clear()
	case changeDevice:
		s.devices.changedElsewhere(ctx, c.key, c.action)
	case changeSettings:
		s.devices.settingsChangedElsewhere(ctx, c.action, c.key)
	default:
		// A kind this version does not know, from a newer node: forget
		// everything rather than keep something stale.
		s.forgetAll()
	}
}

// forgetAll drops every copy this node keeps of the catalog.
func (s *TenantService) forgetAll() {
	s.cache.clear()
	s.identity.tokens.clear()
	s.devices.creds.clear()
}

// changedElsewhere forgets this node's cached device credentials after
// another node changed device id by action, and tells the observers (the
// broker cuts off a device connected here with its old credential or
// custody).
func (s *DeviceStore) changedElsewhere(ctx context.Context, id, action string) {
	s.creds.clear()
	d, err := findDevice(ctx, s.catalog, id)
	if err != nil {
		// Gone, or unreadable now: the cache is clear, and the device's
		// next connection checks its credential afresh.
		return
	}
	s.notify(ctx, qm.DeviceChange{Device: d, Action: action})
}

// Shared reports whether other nodes may serve the catalog beside this
// one, and hear of what it changes at once: false on an engine without
// notices (SQLite), which one node serves.
func (s *TenantService) Shared() bool { return s.notices != nil }

// SettingsChanged tells the other nodes, after the commit, that tenant
// tenantID changed the settings of device deviceID, which it holds: the
// node the device is connected to passes them on (DeviceSettingsChanged
// of the observers that have it). On an engine one node serves (SQLite)
// there is no other node to tell, and it does nothing.
func (s *DeviceStore) SettingsChanged(ctx context.Context, tenantID, deviceID string) error {
	if !s.tenants.Shared() {
		return nil
	}
	return s.tenants.publish(ctx, s.catalog, changeSettings, deviceID, tenantID)
}

// settingsChangedElsewhere tells the observers that have it
// (qm.DeviceSettingsEvents) that another node changed the settings tenant
// tenantID keeps of device deviceID.
func (s *DeviceStore) settingsChangedElsewhere(ctx context.Context, tenantID, deviceID string) {
	for _, ev := range s.observing() {
		if se, ok := ev.(qm.DeviceSettingsEvents); ok {
			se.DeviceSettingsChanged(ctx, tenantID, deviceID)
		}
	}
}
