package storetest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/live"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// TestPointNews opens two engines on one storage, as two nodes, each
// with its live hub and its PointNews: points committed through node A
// reach a live subscription on node B, and only the subscription of the
// tenant that stored them. Only the news can make them: B's hub hears
// nothing else of A's commits. Engines that one node serves (no notices)
// skip it.
func TestPointNews(t *testing.T, h Harness) {
	a, b := MustOpenNodes(t, h)
	hubA, hubB := live.NewHub(), live.NewHub()
	newsA, newsB := catalog.NewPointNews(a.Tenants(), hubA), catalog.NewPointNews(b.Tenants(), hubB)
	if !a.Tenants().Shared() {
		t.Skip("one node serves this engine: its live news stays in the node")
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range []*catalog.PointNews{newsA, newsB} {
		wg.Go(func() { n.Run(ctx, slog.New(slog.DiscardHandler)) })
	}
	defer func() { stop(); wg.Wait() }()
	w := telemetry.NewPointWriter(a, time.Now, 0)
	defer w.Close()
	w.Notify(hubA)
	w.Notify(newsA)

	acme, ctxAcme := MustTenant(t, a, h.Tier, "news-acme")
	other, ctxOther := MustTenant(t, a, h.Tier, "news-other")
	dAcme := mustAssignedDevice(t, a, acme, "news-acme-1")
	dOther := mustAssignedDevice(t, a, other, "news-other-1")
	subAcme, subOther := hubB.Subscribe(acme.ID), hubB.Subscribe(other.ID)
	defer subAcme.Close()
	defer subOther.Close()

	start, sent := time.Now().Add(-time.Hour), 0
	// heard writes a new point of device d in the tenant of scope until
	// sub has news (news sent before node B listens is lost), and returns
	// the news.
	heard := func(what string, scope context.Context, d *qm.Device, sub *live.Subscription) []string {
		t.Helper()
		poll.Until(t, what, func() (bool, error) {
			select {
			case <-sub.Ready():
				return true, nil
			default:
			}
			_, err := w.Write(scope, d.ID, track(start.Add(time.Duration(sent)*time.Second), 1))
			sent++
			return false, err
		})
		ids, _ := sub.Take()
		return ids
	}
	if got := heard("node B hears of the points node A committed", ctxAcme, dAcme, subAcme); !slices.Equal(got, []string{dAcme.ID}) {
		t.Fatalf("node B's subscription of %s heard of %v, want only its device %s", acme.Slug, got, dAcme.ID)
	}
	if got := heard("node B hears of another tenant's points", ctxOther, dOther, subOther); !slices.Equal(got, []string{dOther.ID}) {
		t.Fatalf("node B's subscription of %s heard of %v, want only its device %s", other.Slug, got, dOther.ID)
	}
	// Node A sends its news in order, so once B hears of this one it has
	// heard all that came before: none of it went to the other tenant.
	if got := heard("node B hears of the first tenant's points again", ctxAcme, dAcme, subAcme); slices.Contains(got, dOther.ID) {
		t.Fatalf("node B's subscription of %s heard of %v: %s's device %s", acme.Slug, got, other.Slug, dOther.ID)
	}
	// Its own device's news may still come, from the points written while
	// waiting for the first.
	if got, _ := subOther.Take(); slices.ContainsFunc(got, func(id string) bool { return id != dOther.ID }) {
		t.Fatalf("node B's subscription of %s heard of %v, want only its device %s", other.Slug, got, dOther.ID)
	}

	// News of more devices than a notice names goes in several, whole.
	many := make([]string, 1000)
	for i := range many {
		many[i] = sqlstore.NewID()
	}
	newsA.PointsCommitted(acme.ID, many)
	heardMany := map[string]bool{}
	poll.Until(t, "node B hears of 1,000 devices at once", func() (bool, error) {
		ids, dropped := subAcme.Take()
		for _, id := range ids {
			heardMany[id] = true
		}
		return dropped == 0 && !slices.ContainsFunc(many, func(id string) bool { return !heardMany[id] }), nil
	})
}
