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

// Deadline is when a wait in t gives up: shortly before the test's own
// deadline, or the zero time for a test that has none (it waits forever).
func Deadline(t testing.TB) time.Time {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			return dl.Add(-margin)
		}
	}
	return time.Time{}
}

// After returns a channel that receives at Deadline(t), for a select that
// waits on a condition's channel: nil, which never receives, when t has no
// deadline.
func After(t testing.TB) <-chan time.Time {
	dl := Deadline(t)
	if dl.IsZero() {
		return nil
	}
	return time.After(time.Until(dl))
}

// Until calls cond until it reports true, pausing a little longer after
// each false, up to 100ms. An error from cond fails the test at once; so
// does a condition still false near the test's deadline. what names the
// condition in that message.
func Until(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := Deadline(t)
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
