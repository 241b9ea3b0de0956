package lifecycle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quartermaster/qm"
)

// MoveOptions say where a tenant moves, who moves it (Holder: this node,
// in the move's lease), and who hears of it.
type MoveOptions = qm.TenantMove

// Move moves tenant slug to another tier or server of the same engine,
// keeping its id, slug, catalog and secrets. While it copies, the tenant
// is not served: requests are answered 503 with Retry-After (StateMoving)
// so nothing is written to the old copy after it is read. The copy is the
// export's stream, loaded into the new place as an import loads it, and
// verified against the export's manifest (every table's rows and SHA-256,
// and its rows as stored); then one catalog statement serves the tenant
// from there, and the old copy is removed. Killed at any point, the next
// RecoverMoves (serve and migrate run it) rolls the move back, or, once
// switched, removes the old copy: the tenant is served from exactly one
// place at every moment. Operator only.
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
	err = copyTenant(copyCtx, e, slug, to, opts.Progress)
	stop(nil)
	<-renewed
	if err != nil {
		return nil, errors.Join(fmt.Errorf("move %s: %w", slug, err), ts.AbortMove(context.WithoutCancel(ctx), from, to))
	}
	if err := ts.FinishMove(context.WithoutCancel(ctx), from, to); err != nil {
		return nil, err
	}
	return ts.Tenant(ctx, slug)
}

// moveRenew is how often a mover renews its lease: well within it.
const moveRenew = 15 * time.Second

// copyTenant streams tenant slug's export into to's storage and verifies
// it there.
func copyTenant(ctx context.Context, e Engine, slug string, to *qm.Tenant, progress func(Progress)) error {
	pr, pw := io.Pipe()
	exported := make(chan error, 1)
	go func() {
		_, err := Export(ctx, e, slug, pw, ExportOptions{move: true})
		pw.CloseWithError(err)
		exported <- err
	}()
	im := &importer{e: e, tr: tar.NewReader(pr), opts: ImportOptions{Progress: progress}, rep: &ImportReport{}, sums: map[string]File{}, tablesOnly: true}
	err := im.readHeader(e.LatestVersion())
	if err == nil {
		err = im.readCatalog(ctx)
	}
	if err == nil {
		err = im.load(ctx, to)
	}
	// Whatever the loader left unread goes, so the export ends.
	pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
	return errors.Join(err, <-exported)
}
