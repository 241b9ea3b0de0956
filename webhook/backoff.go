package webhook

import (
	"encoding/binary"
	"hash/fnv"
	"time"
)

// The retry schedule. A failed delivery is tried again after Backoff(1),
// then Backoff(2), and so on: about 30s, 1m, 2m, 4m, … up to an hour between
// tries, which keeps on for as long as the endpoint is enabled. An endpoint
// is disabled only once it has failed without a success for GiveUpAfter, so
// every event gets at least 24 hours of retries unless its endpoint was
// already failing before the event was made: then it ends with the endpoint.
const (
	// FirstBackoff is the wait before the first retry.
	FirstBackoff = 30 * time.Second
	// MaxBackoff is the longest wait between two tries.
	MaxBackoff = time.Hour
	// GiveUpAfter is how long an endpoint may fail, with no success in
	// between, before it is disabled.
	GiveUpAfter = 24 * time.Hour
)

// Backoff returns how long to wait before retry number attempt (1 for the
// first retry; less counts as 1) of the event named key. The wait doubles
// from FirstBackoff up to MaxBackoff and is then shortened by up to a
// quarter, in whole seconds, by an amount taken from a hash of key and
// attempt: events that failed together, when a receiver went down, do not
// all come back in the same second, yet the same event and attempt always
// get the same wait, so tests and the delivery log can say exactly when the
// next try is due.
func Backoff(attempt int, key string) time.Duration {
	attempt = max(attempt, 1)
	d := MaxBackoff
	// 30s << 7 is already past an hour; stop shifting before it overflows.
	if attempt <= 7 {
		d = min(FirstBackoff<<(attempt-1), MaxBackoff)
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(attempt)))
	// Whole seconds, so the delivery log shows a due time people can read.
	return d - time.Duration(h.Sum64()%uint64(d/4/time.Second))*time.Second
}

// ShouldDisable reports whether an endpoint that has failed every delivery
// since failingSince (the zero time when its last delivery succeeded) has
// failed for GiveUpAfter by now, and so should be disabled.
func ShouldDisable(failingSince, now time.Time) bool {
	return !failingSince.IsZero() && now.Sub(failingSince) >= GiveUpAfter
}
