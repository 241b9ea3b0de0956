package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// MoveLease is how long a move's lease lasts unless renewed: the mover
// renews it while it copies, and a move whose lease has run out belongs to
// a process that died (RecoverMoves).
const MoveLease = time.Minute

// moveLeaseName names the lease of tenant id's move.
func moveLeaseName(id string) string { return "move/" + id }

// place is where a tenant's data lives, as the catalog records a move's
// ends: its tier and placement; and, once the move pauses the tenant's
// writes, the pause's id and the state the tenant had before it.
type place struct {
	Tier      qm.Tier        `json:"tier"`
	Placement qm.Placement   `json:"placement"`
	Paused    string         `json:"paused,omitempty"`
	State     qm.TenantState `json:"state,omitempty"`
	// rec is the record as read from the catalog.
	rec string
}

// at returns t as it would be at p.
func (p place) at(t *qm.Tenant) *qm.Tenant {
	c := *t
	c.Tier, c.Placement = p.Tier, p.Placement
	return &c
}

// BeginMove starts moving tenant slug to tier (on server, for a
// PostgreSQL silo): it takes the move's lease for holder, records the
// move (the tenant is served on meanwhile: Moving) and makes the storage
// at the new place. It returns the tenant at its place and at the new
// one, both as active, to copy from and to. EInvalid for a tier or
// server the engine cannot host, or the place the tenant is in;
// EConflict for a tenant not active or suspended, or already moving.
func (s *TenantService) BeginMove(ctx context.Context, slug string, tier qm.Tier, server, holder string) (from, to *qm.Tenant, err error) {
	defer s.cache.clear()
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	if t.State != qm.StateActive && t.State != qm.StateSuspended {
		return nil, nil, qm.Errorf(qm.EConflict, "tenant %s is %s: only an active or suspended tenant moves", t.Slug, t.State)
	}
	n := qm.NewTenant{Slug: t.Slug, Name: t.Name, Tier: tier, Server: server}
	if err := n.Validate(); err != nil {
		return nil, nil, err
	}
	p, err := s.storage.Place(t.ID, n)
	if err != nil {
		return nil, nil, err
	}
	if p == t.Placement {
		return nil, nil, &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("tenant %s is on tier %s at %s already", t.Slug, t.Tier, p.Location),
			Fields: map[string]string{"tier": "the tenant's own"}}
	}
	if ok, err := s.TakeLease(ctx, moveLeaseName(t.ID), holder, MoveLease); err != nil || !ok {
		return nil, nil, errors.Join(err, qm.Errorf(qm.EConflict, "tenant %s is being moved by another process", t.Slug))
	}
	target := place{Tier: tier, Placement: p}
	rec, err := json.Marshal(target)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.catalog.Exec(ctx, `UPDATE tenants SET moving_to = $2 WHERE id = $1 AND moving_to = '' AND moved_from = '' AND delete_after IS NULL`,
		t.ID, string(rec))
	switch {
	case err != nil:
		err = fmt.Errorf("move tenant %s: %w", t.Slug, err)
	case res == 0:
		err = qm.Errorf(qm.EConflict, "tenant %s is moving or being deleted", t.Slug)
	}
	if err != nil {
		return nil, nil, errors.Join(err, s.ReleaseMove(context.WithoutCancel(ctx), t.ID, holder))
	}
	from = place{Tier: t.Tier, Placement: t.Placement}.at(t)
	from.State, from.Moving = qm.StateActive, false
	to = target.at(from)
	if _, err := s.storage.Provision(ctx, to); err != nil {
		err = fmt.Errorf("move tenant %s: make its new storage: %w", t.Slug, err)
		undo := context.WithoutCancel(ctx)
		return nil, nil, errors.Join(err, s.AbortMove(undo, from, to), s.ReleaseMove(undo, t.ID, holder))
	}
	return from, to, nil
}

// PauseMove pauses the writes of tenant from, which is moving: the
// catalog stops serving it (StateMoving), this node's gate admits no
// more work for it and drains what is in flight, and PauseMove waits
// until every other node serving has done the same (WatchMoves), or
// FenceWait has passed (EUnavailable: the caller rolls the move back).
// After it, nothing writes the tenant's old copy until FinishMove or
// AbortMove. Holder is the move's, as for awaitOthers.
func (s *TenantService) PauseMove(ctx context.Context, from *qm.Tenant, holder string) error {
	defer s.cache.clear()
	var rec, state string
	if err := s.catalog.QueryRow(ctx, `SELECT moving_to, state FROM tenants WHERE id = $1`, from.ID).Scan(&rec, &state); err != nil {
		return fmt.Errorf("pause tenant %s: %w", from.Slug, err)
	}
	var target place
	if rec == "" || json.Unmarshal([]byte(rec), &target) != nil || target.Paused != "" {
		return qm.Errorf(qm.EConflict, "tenant %s is not moving, or paused already", from.Slug)
	}
	target.Paused, target.State = sqlstore.NewID(), qm.TenantState(state)
	paused, err := json.Marshal(target)
	if err != nil {
		return err
	}
	// The state and the record as read: a change between (a suspension)
	// makes the statement miss, and the caller try the move again.
	res, err := s.catalog.Exec(ctx, `UPDATE tenants SET state = $2, moving_to = $3 WHERE id = $1 AND moving_to = $4 AND state = $5`,
		from.ID, string(qm.StateSuspended), string(paused), rec, state)
	switch {
	case err != nil:
		return fmt.Errorf("pause tenant %s: %w", from.Slug, err)
	case res == 0:
		return qm.Errorf(qm.EConflict, "tenant %s changed while its writes were being paused", from.Slug)
	}
	s.cache.clear()
	if err := s.gate.pause(ctx, from.ID, target.Paused); err != nil {
		return err
	}
	return s.awaitFences(ctx, holder, from, target.Paused)
}

// FenceWait is how long a move waits for the nodes serving to confirm
// its pause before it gives up and rolls back.
const FenceWait = 30 * time.Second

// fencePoll is how often a mover looks for the nodes' confirmations, and
// WatchMoves for pauses: a pause costs about two of it.
const fencePoll = 50 * time.Millisecond

// awaitFences waits until every node seen alive but holder's has
// confirmed pause of tenant t in move_fences. A node that dies stops
// counting once its heartbeat is older than liveWithin.
func (s *TenantService) awaitFences(ctx context.Context, holder string, t *qm.Tenant, pause string) error {
	give := time.NewTimer(FenceWait)
	defer give.Stop()
	tick := time.NewTicker(fencePoll)
	defer tick.Stop()
	for {
		others, err := s.otherNodes(ctx, holder)
		if err != nil {
			return err
		}
		fenced, err := sqlstore.QueryIDs(ctx, s.catalog, `SELECT node FROM move_fences WHERE tenant_id = $1 AND pause = $2`, t.ID, pause)
		if err != nil {
			return fmt.Errorf("pause tenant %s: %w", t.Slug, err)
		}
		var waiting []string
		for _, name := range others {
			if !fenced[name] {
				waiting = append(waiting, name)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-give.C:
			return qm.Errorf(qm.EUnavailable, "tenant %s: nodes %s did not confirm the pause of its writes within %v", t.Slug,
				strings.Join(waiting, ", "), FenceWait)
		case <-tick.C:
		}
	}
}

// WatchMoves keeps node's gate in step with the moves in the catalog,
// until ctx is done: it pauses there every tenant whose move has paused
// its writes, confirming each pause in move_fences once the work in
// flight is over, and lifts the pause when the move has switched or
// rolled back. Every node that serves runs it beside its heartbeat.
func (s *TenantService) WatchMoves(ctx context.Context, node string, log *slog.Logger) error {
	tick := time.NewTicker(fencePoll)
	defer tick.Stop()
	w := &moveWatch{pausing: map[string]string{}, drained: map[string]string{}}
	for {
		if err := s.watchMoves(ctx, node, w, log); err != nil {
			log.Error("watch tenant moves", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// moveWatch is what WatchMoves keeps between looks: the pauses it has
// taken up, by tenant, and those drained but not yet confirmed (a
// confirmation that fails is tried again at the next look).
type moveWatch struct {
	mu               sync.Mutex
	pausing, drained map[string]string
}

// watchMoves looks once (WatchMoves).
func (s *TenantService) watchMoves(ctx context.Context, node string, w *moveWatch, log *slog.Logger) error {
	pauses := map[string]string{}
	err := sqlstore.Each(ctx, s.catalog, func(r sqlstore.Row) error {
		var id, rec string
		var p place
		if err := r.Scan(&id, &rec); err != nil {
			return err
		}
		if json.Unmarshal([]byte(rec), &p) == nil && p.Paused != "" {
			pauses[id] = p.Paused
		}
		return nil
	}, `SELECT id, moving_to FROM tenants WHERE moving_to != ''`)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, pause := range pauses {
		if w.pausing[id] == pause {
			continue
		}
		w.pausing[id] = pause
		s.cache.clear()
		// A tenant's drain may take a while; the others are not held up.
		go func() {
			if err := s.gate.pause(ctx, id, pause); err != nil {
				if ctx.Err() == nil {
					log.Error("pause a tenant moving", "tenant", id, "err", err)
				}
				return
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.pausing[id] == pause {
				w.drained[id] = pause
			}
		}()
	}
	for id, pause := range w.drained {
		_, err := s.catalog.Exec(ctx, `INSERT INTO move_fences (tenant_id, node, pause) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, node) DO UPDATE SET pause = excluded.pause`, id, node, pause)
		if err != nil {
			return fmt.Errorf("confirm the pause of tenant %s: %w", id, err)
		}
		delete(w.drained, id)
	}
	for id, pause := range s.gate.pausedIDs() {
		if pauses[id] == pause {
			continue
		}
		s.cache.clear()
		t, err := s.TenantByID(ctx, id)
		if err != nil {
			return err
		}
		s.gate.lift(id, pause, t.Placement)
	}
	for id := range w.pausing {
		if _, ok := pauses[id]; !ok {
			delete(w.pausing, id)
			delete(w.drained, id)
		}
	}
	return nil
}

// liveWithin is how recent a node's heartbeat is for it to count as
// serving: three of its beats (rates.HeartbeatEvery).
const liveWithin = 15 * time.Second

// awaitOthers waits, when any node but holder's serves, until each has
// let go of its copy of the tenant (qm.TenantCacheTTL) and so sees what
// the catalog says of it now (deleting): no node writes where a purge
// looks after this. A node that beats later reads the tenant afresh.
func (s *TenantService) awaitOthers(ctx context.Context, holder string) error {
	others, err := s.otherNodes(ctx, holder)
	if err != nil || len(others) == 0 {
		return err
	}
	wait := time.NewTimer(qm.TenantCacheTTL + time.Second)
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wait.C:
		return nil
	}
}

// otherNodes lists the nodes seen alive but holder's. Holder is a node's
// name, or "NODE/…" for work running inside node NODE (a move the API
// started), or "" for none; that node's own gate and cache are the
// caller's to see to.
func (s *TenantService) otherNodes(ctx context.Context, holder string) ([]string, error) {
	live, err := sqlstore.QueryIDs(ctx, s.catalog, `SELECT name FROM nodes WHERE seen_at >= $1`, sqlstore.Timestamp(s.now().Add(-liveWithin)))
	if err != nil {
		return nil, err
	}
	var others []string
	for name := range live {
		if name != holder && !strings.HasPrefix(holder, name+"/") {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	return others, nil
}

// FinishMove points the catalog at the tenant's new place, to, in one
// statement, serving it from there in the state it had, and lifts the
// pause (PauseMove) at this node's gate. The old copy, at from, is
// recorded until DropOldCopy (or RecoverMoves) removes it. EConflict for
// a move whose writes are not paused, or that was rolled back.
func (s *TenantService) FinishMove(ctx context.Context, from, to *qm.Tenant) error {
	defer s.cache.clear()
	target, err := s.moving(ctx, from.ID)
	if err != nil {
		return err
	}
	if target.Paused == "" {
		return qm.Errorf(qm.EConflict, "tenant %s is still written: pause the move first", from.Slug)
	}
	old, err := json.Marshal(place{Tier: from.Tier, Placement: from.Placement})
	if err != nil {
		return err
	}
	p := to.Placement
	err = s.inTx(ctx, func(q sqlstore.Querier) error {
		res, err := q.Exec(ctx, `UPDATE tenants SET tier = $2, engine = $3, server = $4, location = $5, state = $6, moving_to = '', moved_from = $7
			WHERE id = $1 AND moving_to = $8`, from.ID, string(to.Tier), string(p.Engine), p.Server, p.Location, string(target.State), string(old), target.rec)
		switch {
		case err != nil:
			return fmt.Errorf("move tenant %s: switch: %w", from.Slug, err)
		case res == 0:
			return qm.Errorf(qm.EConflict, "tenant %s is no longer moving: the move was rolled back", from.Slug)
		}
		return s.recordMove(ctx, q, "tenant.move", from, to)
	})
	if err != nil {
		return err
	}
	s.lift(ctx, from, target.Paused, to.Placement)
	return nil
}

// lift ends tenant t's pause at this node's gate, serving it at at, and
// forgets the nodes' confirmations of it.
func (s *TenantService) lift(ctx context.Context, t *qm.Tenant, pause string, at qm.Placement) {
	s.cache.clear()
	s.gate.lift(t.ID, pause, at)
	// The move is over whether or not this goes: what is left is
	// overwritten by the next pause, and purged with the tenant.
	_, _ = s.catalog.Exec(ctx, `DELETE FROM move_fences WHERE tenant_id = $1`, t.ID)
}

// DropOldCopy removes the copy a finished move left at from, and its
// record.
func (s *TenantService) DropOldCopy(ctx context.Context, from *qm.Tenant) error {
	if err := s.storage.Deprovision(ctx, from); err != nil {
		return fmt.Errorf("move tenant %s: remove the old copy: %w", from.Slug, err)
	}
	_, err := s.catalog.Exec(ctx, `UPDATE tenants SET moved_from = '' WHERE id = $1`, from.ID)
	return err
}

// AbortMove rolls a move back: it removes what was copied to to, and
// serves the tenant from where it is, in the state it had before a
// pause.
func (s *TenantService) AbortMove(ctx context.Context, from, to *qm.Tenant) error {
	defer s.cache.clear()
	target, err := s.moving(ctx, from.ID)
	if err != nil {
		return err
	}
	if err := s.storage.Deprovision(ctx, to); err != nil {
		return fmt.Errorf("roll back the move of %s: %w", from.Slug, err)
	}
	// Paused, the tenant gets back the state it had; else it has its own.
	state := qm.TenantState("")
	if target.Paused != "" {
		state = target.State
	}
	err = s.inTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `UPDATE tenants SET state = COALESCE(NULLIF($2, ''), state), moving_to = '' WHERE id = $1`, from.ID, string(state)); err != nil {
			return err
		}
		return s.recordMove(ctx, q, "tenant.move_abort", from, to)
	})
	if err != nil || target.Paused == "" {
		return err
	}
	s.lift(ctx, from, target.Paused, from.Placement)
	return nil
}

// moving reads where tenant id is moving to.
func (s *TenantService) moving(ctx context.Context, id string) (place, error) {
	var rec string
	var p place
	if err := s.catalog.QueryRow(ctx, `SELECT moving_to FROM tenants WHERE id = $1`, id).Scan(&rec); err != nil {
		return p, fmt.Errorf("read the move of %s: %w", id, err)
	}
	if rec == "" {
		return p, qm.Errorf(qm.EConflict, "tenant %s is not moving", id)
	}
	if err := json.Unmarshal([]byte(rec), &p); err != nil {
		return p, fmt.Errorf("read the move of %s: %w", id, err)
	}
	p.rec = rec
	return p, nil
}

// ReleaseMove lets go of the lease of tenant id's move, when holder has
// it: the move is over, and the next may start at once.
func (s *TenantService) ReleaseMove(ctx context.Context, id, holder string) error {
	_, err := s.catalog.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, moveLeaseName(id), holder)
	return err
}

// RenewMove renews the lease of tenant id's move for holder; false when
// another holds it now.
func (s *TenantService) RenewMove(ctx context.Context, id, holder string) (bool, error) {
	return s.TakeLease(ctx, moveLeaseName(id), holder, MoveLease)
}

// RecoverMoves ends what moves of dead processes left (their lease run
// out, taken by holder): a move not switched is rolled back, its copy
// removed; a move switched has its old copy removed. It returns the slugs
// of the tenants it recovered.
func (s *TenantService) RecoverMoves(ctx context.Context, holder string) ([]string, error) {
	type left struct{ id, movingTo, movedFrom string }
	var moves []left
	err := sqlstore.Each(ctx, s.catalog, func(r sqlstore.Row) error {
		var m left
		if err := r.Scan(&m.id, &m.movingTo, &m.movedFrom); err != nil {
			return err
		}
		moves = append(moves, m)
		return nil
	}, `SELECT id, moving_to, moved_from FROM tenants WHERE moving_to != '' OR moved_from != ''`)
	if err != nil {
		return nil, fmt.Errorf("moves left: %w", err)
	}
	var done []string
	var errs []error
	for _, m := range moves {
		if ok, err := s.TakeLease(ctx, moveLeaseName(m.id), holder, MoveLease); err != nil || !ok {
			errs = append(errs, err)
			continue // a live mover's
		}
		t, err := s.TenantByID(ctx, m.id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.movingTo != "" {
			var to place
			if err := json.Unmarshal([]byte(m.movingTo), &to); err != nil {
				errs = append(errs, fmt.Errorf("the move of %s: %w", t.Slug, err))
				continue
			}
			err = s.AbortMove(ctx, t, to.at(t))
		} else {
			var from place
			if err := json.Unmarshal([]byte(m.movedFrom), &from); err != nil {
				errs = append(errs, fmt.Errorf("the move of %s: %w", t.Slug, err))
				continue
			}
			err = s.DropOldCopy(ctx, from.at(t))
		}
		if err == nil {
			err = s.ReleaseMove(ctx, m.id, holder)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, t.Slug)
	}
	return done, errors.Join(errs...)
}
