package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
// ends: its tier and placement, and the state it had before the move.
type place struct {
	Tier      qm.Tier        `json:"tier"`
	Placement qm.Placement   `json:"placement"`
	State     qm.TenantState `json:"state,omitempty"`
}

// at returns t as it would be at p.
func (p place) at(t *qm.Tenant) *qm.Tenant {
	c := *t
	c.Tier, c.Placement = p.Tier, p.Placement
	return &c
}

// BeginMove starts moving tenant slug to tier (on server, for a
// PostgreSQL silo): it takes the move's lease for holder, records the
// move, which stops the tenant being served (StateMoving), makes the
// storage at the new place, and waits until every other node serving
// sees the tenant moving. It returns the tenant at its place and at the
// new one, both as active, to copy from and to. EInvalid for a tier or
// server the engine cannot host, or the place the tenant is in; EConflict
// for a tenant not active or suspended, or already moving.
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
	target := place{Tier: tier, Placement: p, State: t.State}
	rec, err := json.Marshal(target)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.catalog.Exec(ctx, `UPDATE tenants SET state = $2, moving_to = $3 WHERE id = $1 AND moving_to = '' AND moved_from = '' AND delete_after IS NULL`,
		t.ID, string(qm.StateSuspended), string(rec))
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
	from.State = qm.StateActive
	to = target.at(from)
	if err := s.awaitOthers(ctx, holder); err != nil {
		undo := context.WithoutCancel(ctx)
		return nil, nil, errors.Join(err, s.AbortMove(undo, from, to), s.ReleaseMove(undo, t.ID, holder))
	}
	if _, err := s.storage.Provision(ctx, to); err != nil {
		err = fmt.Errorf("move tenant %s: make its new storage: %w", t.Slug, err)
		undo := context.WithoutCancel(ctx)
		return nil, nil, errors.Join(err, s.AbortMove(undo, from, to), s.ReleaseMove(undo, t.ID, holder))
	}
	return from, to, nil
}

// liveWithin is how recent a node's heartbeat is for it to count as
// serving: three of its beats (rates.HeartbeatEvery).
const liveWithin = 15 * time.Second

// awaitOthers waits, when any node but holder's serves, until each has
// let go of its copy of the tenant (qm.TenantCacheTTL) and so sees what
// the catalog says of it now (moving, deleting): no node writes where a
// move reads, or a purge looks, after this. A node that beats later
// reads the tenant afresh. Holder is a node's name, or "NODE/…" for
// work running inside node NODE (a move the API started), or "" for
// none; that node's own copy is cleared by the caller already.
func (s *TenantService) awaitOthers(ctx context.Context, holder string) error {
	live, err := sqlstore.QueryIDs(ctx, s.catalog, `SELECT name FROM nodes WHERE seen_at >= $1`, sqlstore.Timestamp(s.now().Add(-liveWithin)))
	if err != nil {
		return err
	}
	others := 0
	for name := range live {
		if name != holder && !strings.HasPrefix(holder, name+"/") {
			others++
		}
	}
	if others == 0 {
		return nil
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

// FinishMove points the catalog at the tenant's new place, from, in one
// statement, serving it from there in the state it had; then it removes
// the old copy, to (recorded until it is gone, for RecoverMoves).
func (s *TenantService) FinishMove(ctx context.Context, from, to *qm.Tenant) error {
	defer s.cache.clear()
	target, err := s.moving(ctx, from.ID)
	if err != nil {
		return err
	}
	old, err := json.Marshal(place{Tier: from.Tier, Placement: from.Placement})
	if err != nil {
		return err
	}
	p := to.Placement
	res, err := s.catalog.Exec(ctx, `UPDATE tenants SET tier = $2, engine = $3, server = $4, location = $5, state = $6, moving_to = '', moved_from = $7
		WHERE id = $1 AND moving_to != ''`, from.ID, string(to.Tier), string(p.Engine), p.Server, p.Location, string(target.State), string(old))
	switch {
	case err != nil:
		return fmt.Errorf("move tenant %s: switch: %w", from.Slug, err)
	case res == 0:
		return qm.Errorf(qm.EConflict, "tenant %s is no longer moving: the move was rolled back", from.Slug)
	}
	s.cache.clear()
	return s.dropOldCopy(ctx, from)
}

// dropOldCopy removes the copy a finished move left at from, and its
// record.
func (s *TenantService) dropOldCopy(ctx context.Context, from *qm.Tenant) error {
	if err := s.storage.Deprovision(ctx, from); err != nil {
		return fmt.Errorf("move tenant %s: remove the old copy: %w", from.Slug, err)
	}
	_, err := s.catalog.Exec(ctx, `UPDATE tenants SET moved_from = '' WHERE id = $1`, from.ID)
	return err
}

// AbortMove rolls a move back: it removes what was copied to to, and
// serves the tenant from where it is, in the state it had.
func (s *TenantService) AbortMove(ctx context.Context, from, to *qm.Tenant) error {
	defer s.cache.clear()
	target, err := s.moving(ctx, from.ID)
	if err != nil {
		return err
	}
	if err := s.storage.Deprovision(ctx, to); err != nil {
		return fmt.Errorf("roll back the move of %s: %w", from.Slug, err)
	}
	_, err = s.catalog.Exec(ctx, `UPDATE tenants SET state = $2, moving_to = '' WHERE id = $1`, from.ID, string(target.State))
	return err
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
	return p, json.Unmarshal([]byte(rec), &p)
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
			err = s.dropOldCopy(ctx, from.at(t))
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
