package lifecycle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// MoveOptions say where a tenant moves, who moves it (Holder: this node,
// in the move's lease), and who hears of it.
type MoveOptions = qm.TenantMove

// Move moves tenant slug to another tier or server of the same engine,
// keeping its id, slug, catalog and secrets, while it is served. The copy
// is the export's stream, loaded into the new place as an import loads
// it, and verified against the export's manifest (every table's rows and
// SHA-256, and its rows as stored). It goes in two passes:
//
//   - while the tenant works, the tables it only adds to (growing: the
//     points and the audit log, nearly all of a busy tenant's rows), and
//     again the rows written meanwhile while there are many;
//   - then its writes pause on every node (PauseMove: requests are
//     answered 503 with Retry-After, StateMoving) for the last pass:
//     every other table, and the rows of the growing ones written since
//     the pass before began (less sinceMargin, for transactions that
//     committed late), added to what the passes before copied. A growing
//     table then holds as many rows at the new place as at the old, or
//     the move rolls back.
//
// Then one catalog statement serves the tenant from the new place, and
// the old copy is removed. Killed at any point, the next RecoverMoves
// (serve and migrate run it) rolls the move back, or, once switched,
// removes the old copy: the tenant is served from exactly one place at
// every moment. Operator only.
func Move(ctx context.Context, e Engine, slug string, opts MoveOptions) (*qm.Tenant, error) {
	ts := e.Tenants()
	from, to, err := ts.BeginMove(ctx, slug, opts.Tier, opts.Server, opts.Holder)
	if err != nil {
		return nil, err
	}
	if opts.Begun != nil {
		opts.Begun(from, to)
	}
	// Over, whichever way, the move lets the next start at once.
	defer ts.ReleaseMove(context.WithoutCancel(ctx), from.ID, opts.Holder)
	copyCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The lease says the move is alive; losing it means another process
	// took the move for dead and rolls it back, so the copy stops.
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(moveRenew)
		defer tick.Stop()
		for {
			select {
			case <-copyCtx.Done():
				return
			case <-tick.C:
				if ok, err := ts.RenewMove(copyCtx, from.ID, opts.Holder); err != nil || !ok {
					stop(errors.Join(err, qm.Errorf(qm.EConflict, "the move of %s lost its lease", slug)))
					return
				}
			}
		}
	}()
	paused, err := copyTenant(copyCtx, e, from, to, opts)
	stop(nil)
	<-renewed
	if err != nil {
		return nil, errors.Join(fmt.Errorf("move %s: %w", slug, err), ts.AbortMove(context.WithoutCancel(ctx), from, to))
	}
	if err := ts.FinishMove(context.WithoutCancel(ctx), from, to); err != nil {
		return nil, err
	}
	if opts.Switched != nil {
		opts.Switched(time.Since(paused))
	}
	if err := ts.DropOldCopy(context.WithoutCancel(ctx), from); err != nil {
		return nil, err
	}
	return ts.Tenant(ctx, slug)
}

// moveRenew is how often a mover renews its lease: well within it.
const moveRenew = 15 * time.Second

// sinceMargin is how far before a pass began the next looks for rows of
// the growing tables: a row written in a transaction that began before
// the pass's read and committed after it is newer than this, for no write
// of a served tenant lasts as long. Should one last longer, its rows are
// missing at the new place, the counts differ (sameRows) and the move
// rolls back: nothing is lost.
const sinceMargin = 10 * time.Second

// Catch-up passes: while a pass of the growing tables copies at least
// quietRows rows (written while the pass before ran), another follows
// while the tenant works, up to catchUps of them, so the pause copies
// little.
const (
	quietRows = 10000
	catchUps  = 4
)

// copyTenant copies tenant from to to in the passes of Move, and returns
// when the tenant's writes paused.
func copyTenant(ctx context.Context, e Engine, from, to *qm.Tenant, opts MoveOptions) (time.Time, error) {
	var first []string
	merge := map[string]bool{}
	for _, name := range schema.TenantTables {
		if _, ok := growing[name]; ok {
			first = append(first, name)
			merge[name] = true
		}
	}
	total := len(first) + len(schema.TenantTables)
	progress := func(done int) func(Progress) {
		return func(p Progress) {
			if opts.Progress != nil {
				p.N, p.Total = done+p.N, total
				opts.Progress(p)
			}
		}
	}
	// What each growing table gained at the new place, pass by pass.
	inserted := map[string]int64{}
	pass := func(opts ExportOptions, merge map[string]bool, done int) (int64, error) {
		opts.move = true
		return copyPass(ctx, e, from.Slug, to, opts, merge, inserted, progress(done))
	}
	began := time.Now()
	copied, err := pass(ExportOptions{tables: first}, nil, 0)
	for i := 0; err == nil && i < catchUps && copied >= quietRows; i++ {
		next := time.Now()
		copied, err = pass(ExportOptions{tables: first, since: began.Add(-sinceMargin)}, merge, 0)
		began = next
	}
	if err != nil {
		return time.Time{}, err
	}
	if err := e.Tenants().PauseMove(ctx, from, opts.Holder); err != nil {
		return time.Time{}, err
	}
	paused := time.Now()
	if opts.Paused != nil {
		opts.Paused()
	}
	if _, err := pass(ExportOptions{since: began.Add(-sinceMargin)}, merge, len(first)); err != nil {
		return paused, err
	}
	return paused, sameRows(ctx, e, from, first, inserted)
}

// copyPass streams tenant slug's export, as opts limit it, into to's
// storage and verifies it there; the tables of merge are added to, and
// inserted adds up the rows each table gains. It returns how many rows it
// read.
func copyPass(ctx context.Context, e Engine, slug string, to *qm.Tenant, opts ExportOptions, merge map[string]bool, inserted map[string]int64,
	progress func(Progress)) (int64, error) {
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		_, err := Export(ctx, e, slug, pw, opts)
		pw.CloseWithError(err)
		exported <- err
	}()
	im := &importer{e: e, tr: tar.NewReader(pr), opts: ImportOptions{Progress: progress}, rep: &ImportReport{}, sums: map[string]File{},
		tablesOnly: true, merge: merge, inserted: inserted}
	err := im.readHeader(e.LatestVersion())
	if err == nil {
		err = im.readCatalog(ctx)
	}
	if err == nil {
		err = im.load(ctx, to)
	}
	// Whatever the loader left unread goes, so the export ends.
	pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
	var rows int64
	for _, t := range im.rep.Tables {
		rows += t.Rows
	}
	return rows, errors.Join(err, <-exported)
}

// sameRows checks that each of the named tables holds as many of the
// tenant's rows at its old place, from, as the passes inserted at the new
// one: the new place holds only rows copied from the old, which deletes
// none of them while the tenant moves, so the same count is the same
// rows.
func sameRows(ctx context.Context, e Engine, from *qm.Tenant, names []string, inserted map[string]int64) error {
	scope := catalog.Unfenced(tenancy.WithTenant(ctx, from))
	for _, name := range slices.Sorted(slices.Values(names)) {
		old, err := sqlstore.View(scope, e, func(c sqlstore.Conn) (int64, error) {
			var n int64
			err := c.QueryRow(scope, `SELECT count(*) FROM `+name+` WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
			return n, err
		})
		if err != nil {
			return fmt.Errorf("count %s: %w", name, err)
		}
		if old != inserted[name] {
			return fmt.Errorf("table %s holds %d of the tenant's rows at its old place and %d at its new one", name, old, inserted[name])
		}
	}
	return nil
}
