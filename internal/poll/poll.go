// Package poll lets a test wait for a condition, never for a duration: a
// loaded machine makes the wait longer but never fails it. The only bound is
// the test's own deadline (go test -timeout), so a condition that never
// holds still ends the test, with a message naming what it waited for
// instead of a timeout's stack dump.
package poll

import (
	"testing"
	"time"
)

// margin is how long before the test's deadline Until gives up, leaving
// time to report and clean up.
const margin = 30 * time.Second

// Until calls cond until it reports true, pausing a little longer after
// each false, up to 100ms. An error from cond fails the test at once; so
// does a condition still false near the test's deadline. what names the
// condition in that message.
func Until(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	var deadline time.Time
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			deadline = dl.Add(-margin)
		}
	}
	pause := time.Millisecond
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting until %s: %v", what, err)
		}
		if ok {
			return
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s: the test's deadline is near", what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
