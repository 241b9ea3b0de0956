package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// TestMoveTenant moves a tenant from the harness's tier through every
// other tier the engine hosts and back, so the harnesses of an engine
// together move it between every pair: after each move every table holds
// the same rows, byte for byte; it serves the same assets, with the same
// id and slug, from its new place; its webhook keeps its secret and its
// device its credential; nothing is left at the old place; a neighbour
// is untouched. A move to where it is, or of a tenant deleting, is
// refused.
func TestMoveTenant(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	f := MustFillTenant(t, e, h.Tier, "mover")
	MustFillTenant(t, e, h.Tier, "stayer")
	_, stayed := MustExport(t, e, "stayer")
	_, before := MustExport(t, e, "mover")
	secretOf := func(tn *qm.Tenant) string {
		t.Helper()
		scope := tenancy.WithTenant(ctx, tn)
		chs, err := alerts.NewChannelStore(e, nil, clock()).Channels(scope)
		if err != nil || len(chs) == 0 {
			t.Fatalf("channels: %+v, %v", chs, err)
		}
		n, err := alerts.NewOutboxStore(e).TestNotification(scope, chs[0].ID, clock()())
		if err != nil {
			t.Fatal(err)
		}
		return n.Secret
	}
	secret := secretOf(f.Tenant)
	assets := func(tn *qm.Tenant) []string {
		t.Helper()
		page, err := dataplane.NewAssetStore(e, e.Identity(), clock()).Assets(tenancy.WithTenant(ctx, tn), qm.AssetFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, a := range page.Assets {
			tags = append(tags, a.ID+" "+a.Tag+" "+a.Name)
		}
		return tags
	}
	served := assets(f.Tenant)

	_, err := lifecycle.Move(ctx, e, "mover", lifecycle.MoveOptions{Tier: h.Tier, Holder: "test"})
	wantCode(t, err, qm.EInvalid)
	type place struct {
		tier   qm.Tier
		server string
	}
	route := []place{}
	for _, tier := range qm.Tiers {
		if tier != h.Tier {
			route = append(route, place{tier: tier})
		}
	}
	if h.Server != "" {
		route = append(route, place{qm.TierSilo, h.Server})
	}
	route = append(route, place{tier: h.Tier})
	at := f.Tenant
	for _, to := range route {
		var progress []string
		moved, err := lifecycle.Move(ctx, e, "mover", lifecycle.MoveOptions{Tier: to.tier, Server: to.server, Holder: "test",
			Progress: func(p lifecycle.Progress) { progress = append(progress, p.Table) }})
		if qm.ErrorCode(err) == qm.EInvalid && strings.Contains(qm.ErrorMessage(err), "PostgreSQL") {
			continue // a tier this engine does not host
		}
		tier := to.tier
		if err != nil {
			t.Fatalf("move %s → %s %s: %v", at.Tier, tier, to.server, err)
		}
		if moved.ID != f.Tenant.ID || moved.Tier != tier || moved.State != qm.StateActive || moved.Placement == at.Placement || len(progress) == 0 ||
			(to.server != "" && moved.Placement.Server != to.server) {
			t.Fatalf("moved %s → %s %s: %+v, progress %v", at.Tier, tier, to.server, moved, progress)
		}
		_, after := MustExport(t, e, "mover")
		SameTables(t, before, after)
		if got := assets(moved); !slices.Equal(got, served) || len(served) == 0 {
			t.Fatalf("after the move to %s it serves %v, before %v", tier, got, served)
		}
		if got := secretOf(moved); got != secret || secret == "" {
			t.Fatalf("after the move to %s the webhook's secret is %q, was %q", tier, got, secret)
		}
		if d, err := e.Devices().Device(ctx, f.Device.ID); err != nil || d.TenantID != moved.ID {
			t.Fatalf("the device after the move: %+v, %v", d, err)
		}
		left, err := e.Tenants().Remains(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		// The catalog rows are the tenant's still; nothing of its data is
		// at the old place.
		for what := range left {
			if !strings.HasPrefix(what, "catalog.") {
				t.Fatalf("after the move %s → %s, left at the old place: %v", at.Tier, tier, left)
			}
		}
		at = moved
	}
	_, now := MustExport(t, e, "stayer")
	SameTables(t, stayed, now)

	if _, err := e.Tenants().DeleteTenant(ctx, "mover", 0); err != nil {
		t.Fatal(err)
	}
	other := slices.DeleteFunc(slices.Clone(qm.Tiers), func(tier qm.Tier) bool { return tier == h.Tier })[0]
	_, err = lifecycle.Move(ctx, e, "mover", lifecycle.MoveOptions{Tier: other, Holder: "test"})
	wantCode(t, err, qm.EConflict)
}

// elsewhere is where the move cases move a tenant of the harness's tier:
// a silo on the harness's Server when it has one, else the other tier
// both engines host: silo for a pool tenant, pool for another.
func (h Harness) elsewhere() (qm.Tier, string) {
	if h.Server != "" {
		return qm.TierSilo, h.Server
	}
	if h.Tier == qm.TierPool {
		return qm.TierSilo, ""
	}
	return qm.TierPool, ""
}

// TestMoveOnline moves a tenant that is written to while it moves. After
// the first pass has copied its points and audit log, an asset, points
// and their log entries are written as any request would: the tenant is
// served, at its old place. Once its writes pause, a request with the
// tenant as it was before is answered 503 (the gate), and the old copy
// holds still; the new place then serves exactly that copy, table for
// table, the writes made during the move included. A request still
// carrying the tenant at its old place is refused after the move too.
func TestMoveOnline(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	f := MustFillTenant(t, e, h.Tier, "online")
	other, server := h.elsewhere()
	assets := dataplane.NewAssetStore(e, e.Identity(), clock())
	pw := telemetry.NewPointWriter(e, time.Now, 0)
	defer pw.Close()
	var during *qm.Asset
	var atPause *lifecycle.Manifest
	written := func(p lifecycle.Progress) {
		if p.Table != "points" || during != nil {
			return
		}
		// Served while it moves, as any request finds it.
		tn, err := e.Tenants().Tenant(ctx, "online")
		if err != nil || tn.State != qm.StateActive || !tn.Moving {
			t.Errorf("during the first pass: %+v, %v; want active and moving", tn, err)
			return
		}
		scope := tenancy.WithTenant(ctx, tn)
		during = &qm.Asset{Name: "Bought during the move", ModelID: f.ModelID}
		if err := assets.CreateAsset(scope, during); err != nil {
			t.Errorf("an asset during the move: %v", err)
		}
		if _, err := pw.Write(scope, f.Device.ID, track(time.Now().Add(-30*time.Minute), 5)); err != nil {
			t.Errorf("points during the move: %v", err)
		}
	}
	paused := func() {
		if tn, err := e.Tenants().Tenant(ctx, "online"); err != nil || tn.State != qm.StateMoving {
			t.Errorf("while paused: %+v, %v; want moving", tn, err)
		}
		err := assets.CreateAsset(tenancy.WithTenant(ctx, f.Tenant), &qm.Asset{Name: "Too late", ModelID: f.ModelID})
		if qm.ErrorCode(err) != qm.EUnavailable {
			t.Errorf("an asset while paused, by a request that found the tenant before: %v; want %s", err, qm.EUnavailable)
		}
		_, atPause = MustExport(t, e, "online")
	}
	moved, err := lifecycle.Move(ctx, e, "online", lifecycle.MoveOptions{Tier: other, Server: server, Holder: "test", Progress: written, Paused: paused})
	if err != nil {
		t.Fatal(err)
	}
	if during == nil || during.ID == "" || atPause == nil {
		t.Fatalf("the move wrote during its first pass %+v, paused %v", during, atPause != nil)
	}
	_, after := MustExport(t, e, "online")
	SameTables(t, atPause, after)
	if got, err := assets.Asset(tenancy.WithTenant(ctx, moved), during.ID); err != nil || got.Name != during.Name {
		t.Fatalf("the asset written during the move, at the new place: %+v, %v", got, err)
	}
	if pts := atPause.File("tables/points.jsonl"); pts == nil || pts.Rows < 25 {
		t.Fatalf("points at the pause: %+v; want the 20 filled and the 5 written during the move", pts)
	}
	err = assets.CreateAsset(tenancy.WithTenant(ctx, f.Tenant), &qm.Asset{Name: "Stale", ModelID: f.ModelID})
	if qm.ErrorCode(err) != qm.EUnavailable {
		t.Fatalf("an asset after the move, by a request that found the tenant at its old place: %v; want %s", err, qm.EUnavailable)
	}
}

// TestMoveFenced moves a tenant from one node while another serves it
// (two engines on one storage, as two processes are): the other node
// beats, watches the moves (WatchMoves), and has a write of the tenant in
// flight when the move pauses its writes. The move waits for that write:
// it is at the new place afterwards, and the other node, still holding
// the tenant as it was, can write the old place no more.
func TestMoveFenced(t *testing.T, h Harness) {
	mover, other := MustOpenNodes(t, h)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	f := MustFillTenant(t, other, h.Tier, "fenced")
	if err := other.Tenants().Heartbeat(ctx, "node-b"); err != nil {
		t.Fatal(err)
	}
	watched := make(chan error, 1)
	go func() { watched <- other.Tenants().WatchMoves(ctx, "node-b", slog.New(slog.DiscardHandler)) }()
	defer func() { stop(); <-watched }()

	inFlight, hold, written := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	release := sync.OnceFunc(func() { close(hold) })
	defer release() // should the test end before the move pauses
	go func() {
		written <- other.Update(tenancy.WithTenant(ctx, f.Tenant), func(c sqlstore.Conn) error {
			close(inFlight)
			<-hold
			return sqlstore.Audit(ctx, c, time.Now(), "test.fenced", "tenant", f.Tenant.ID, nil, nil)
		})
	}()
	<-inFlight
	tier, server := h.elsewhere()
	moved := make(chan error, 1)
	go func() {
		_, err := lifecycle.Move(ctx, mover, "fenced", lifecycle.MoveOptions{Tier: tier, Server: server, Holder: "node-a"})
		moved <- err
	}()
	// The write ends once the move has paused the tenant's writes.
	poll.Until(t, "the move pauses the tenant's writes", func() (bool, error) {
		select {
		case err := <-moved:
			return false, fmt.Errorf("the move ended before it paused the writes: %v", err)
		default:
		}
		tn, err := mover.Tenants().Tenant(ctx, "fenced")
		return err == nil && tn.State == qm.StateMoving, err
	})
	release()
	if err := <-written; err != nil {
		t.Fatalf("the write in flight when the move paused: %v", err)
	}
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	tn, err := mover.Tenants().Tenant(ctx, "fenced")
	if err != nil || tn.Tier != tier || (server != "" && tn.Placement.Server != server) {
		t.Fatalf("after the move: %+v, %v", tn, err)
	}
	var n int
	err = mover.View(tenancy.WithTenant(ctx, tn), func(c sqlstore.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'test.fenced'`, c.TenantID()).Scan(&n)
	})
	if err != nil || n != 1 {
		t.Fatalf("the write in flight, at the new place: %d, %v; want 1", n, err)
	}
	err = other.Update(tenancy.WithTenant(ctx, f.Tenant), func(c sqlstore.Conn) error { return nil })
	if qm.ErrorCode(err) != qm.EUnavailable {
		t.Fatalf("the other node, with the tenant as it was, after the move: %v; want %s", err, qm.EUnavailable)
	}
}

// TestMoveRecovered: a mover that dies after the move began leaves the
// tenant moving (served on while copied; then, once its writes paused,
// not served: 503) with half a copy; the next start of its node (the same
// holder) rolls it back: the tenant is served again from where it was,
// whole, and the copy is gone.
func TestMoveRecovered(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	f := MustFillTenant(t, e, h.Tier, "halfway")
	_, before := MustExport(t, e, "halfway")
	other, server := h.elsewhere()
	from, to, err := e.Tenants().BeginMove(ctx, "halfway", other, server, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if tn, err := e.Tenants().Tenant(ctx, "halfway"); err != nil || tn.State != qm.StateActive || !tn.Moving {
		t.Fatalf("while copied: %+v, %v", tn, err)
	}
	if err := e.Tenants().PauseMove(ctx, from, "node-1"); err != nil {
		t.Fatal(err)
	}
	if tn, err := e.Tenants().Tenant(ctx, "halfway"); err != nil || tn.State != qm.StateMoving {
		t.Fatalf("while paused: %+v, %v", tn, err)
	}
	// The dead mover's lease is another holder's until it runs out.
	if got, err := e.Tenants().RecoverMoves(ctx, "node-2"); err != nil || len(got) != 0 {
		t.Fatalf("another node recovered %v, %v; want none while the lease lasts", got, err)
	}
	got, err := e.Tenants().RecoverMoves(ctx, "node-1")
	if err != nil || !slices.Equal(got, []string{"halfway"}) {
		t.Fatalf("recovered %v, %v", got, err)
	}
	tn, err := e.Tenants().Tenant(ctx, "halfway")
	if err != nil || tn.State != qm.StateActive || tn.Moving || tn.Placement != from.Placement || tn.ID != f.Tenant.ID {
		t.Fatalf("after the roll back: %+v, %v", tn, err)
	}
	// Served again, to a request that found it before the pause too.
	if _, err := dataplane.NewAssetStore(e, e.Identity(), clock()).Assets(tenancy.WithTenant(ctx, f.Tenant), qm.AssetFilter{Limit: 1}); err != nil {
		t.Fatalf("assets after the roll back: %v", err)
	}
	_, after := MustExport(t, e, "halfway")
	SameTables(t, before, after)
	if left, err := e.Tenants().Remains(ctx, to); err != nil || slices.ContainsFunc(slices.Collect(maps.Keys(left)), func(k string) bool { return !strings.HasPrefix(k, "catalog.") }) {
		t.Fatalf("the copy rolled back left %v, %v", left, err)
	}
}
