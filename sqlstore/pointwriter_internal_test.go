package sqlstore

import (
	"testing"

	"github.com/quartermaster/qm"
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
