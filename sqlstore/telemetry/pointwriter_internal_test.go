package telemetry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// TestQueueFairness checks the turn-taking of a database's queue: a tenant
// with many requests waiting does not keep another's out of the next
// transaction.
func TestQueueFairness(t *testing.T) {
	q := &pointQueue{lines: map[string][]*writeRequest{}}
	add := func(tenant string, points int) *writeRequest {
		req := &writeRequest{batch: DevicePoints{Points: make([]qm.Point, points)}}
		if len(q.lines[tenant]) == 0 {
			q.order = append(q.order, tenant)
		}
		q.lines[tenant] = append(q.lines[tenant], req)
		q.pending++
		return req
	}
	for range 100 {
		add("flood", 1000)
	}
	quiet := add("quiet", 10)
	batch := q.take(3000)
	if indexOf(batch, quiet) != 1 {
		t.Fatalf("the quiet tenant's request is at %d of the first transaction's %d, want second (after one of the flood's)", indexOf(batch, quiet), len(batch))
	}
	for q.pending > 0 {
		for _, req := range q.take(3000) {
			if req == quiet {
				t.Fatal("a request was taken twice")
			}
		}
	}
	if len(q.order) != 0 || len(q.lines) != 0 {
		t.Fatalf("a drained queue keeps %v and %d lines", q.order, len(q.lines))
	}
}

func indexOf(batch []*writeRequest, req *writeRequest) int {
	for i, r := range batch {
		if r == req {
			return i
		}
	}
	return -1
}

// recordedEvents records what a PointEvents is told.
type recordedEvents struct{ calls []string }

func (r *recordedEvents) PointsCommitted(tenantID string, deviceIDs []string) {
	r.calls = append(r.calls, tenantID+":"+strings.Join(deviceIDs, ","))
}

// TestCommittedTellsObservers: after a commit, each tenant's observers hear
// once of the devices that stored new points, each device once, and not
// of a device whose points were all stored before.
func TestCommittedTellsObservers(t *testing.T) {
	w := NewPointWriter(nil, time.Now, 0)
	var ev recordedEvents
	w.Notify(&ev)
	scope := func(id string) context.Context {
		return tenancy.WithTenant(context.Background(), &qm.Tenant{ID: id, Slug: id})
	}
	a, b := scope("a"), scope("b")
	w.committed([]*writeRequest{
		{scope: a, batch: DevicePoints{DeviceID: "d1"}, stored: 2},
		{scope: b, batch: DevicePoints{DeviceID: "d9"}, stored: 1},
		{scope: a, batch: DevicePoints{DeviceID: "d2"}, stored: 0}, // resent
		{scope: a, batch: DevicePoints{DeviceID: "d1"}, stored: 1},
		{scope: a, batch: DevicePoints{DeviceID: "d3"}, stored: 1},
	})
	if got, want := strings.Join(ev.calls, " "), "a:d1,d3 b:d9"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
