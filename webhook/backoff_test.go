package webhook

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attempt int
		key     string
		want    time.Duration
	}{
		// Exact, because the jitter comes from the key: a change here
		// moves every pending retry, so it should be on purpose.
		{name: "First", attempt: 1, key: "evt_1", want: 26 * time.Second},
		{name: "FirstOtherEvent", attempt: 1, key: "evt_2", want: 30 * time.Second},
		{name: "ZeroIsFirst", attempt: 0, key: "evt_1", want: 26 * time.Second},
		{name: "NegativeIsFirst", attempt: -5, key: "evt_1", want: 26 * time.Second},
		{name: "Second", attempt: 2, key: "evt_1", want: 48 * time.Second},
		{name: "Fifth", attempt: 5, key: "evt_1", want: 7*time.Minute + 19*time.Second},
		{name: "Capped", attempt: 10, key: "evt_1", want: 59*time.Minute + 40*time.Second},
		{name: "CappedOtherEvent", attempt: 10, key: "evt_2", want: 45*time.Minute + 43*time.Second},
		{name: "NoOverflow", attempt: 1 << 30, key: "evt_1", want: Backoff(1<<30, "evt_1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Backoff(tc.attempt, tc.key); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for _, key := range []string{"", "evt_1", "evt_2", "01JDQ8Z0000000000000000000"} {
		ceiling := FirstBackoff
		for attempt := 1; attempt <= 100; attempt++ {
			got := Backoff(attempt, key)
			if got > ceiling || got <= ceiling*3/4 || got%time.Second != 0 {
				t.Fatalf("key %q attempt %d: got %v, want whole seconds in (%v, %v]", key, attempt, got, ceiling*3/4, ceiling)
			}
			ceiling = min(2*ceiling, MaxBackoff)
		}
	}
}

// TestRetriesCoverADay walks the schedule of one event whose endpoint fails
// from its first try on: the event is tried again and again for a whole day
// before the endpoint is disabled, and never waits more than MaxBackoff.
func TestRetriesCoverADay(t *testing.T) {
	first := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at, tries := first, 1
	for !ShouldDisable(first, at) {
		at = at.Add(Backoff(tries, "evt_1"))
		tries++
	}
	if at.Sub(first) < GiveUpAfter {
		t.Errorf("gave up after %v, want at least %v", at.Sub(first), GiveUpAfter)
	}
	if at.Sub(first) > GiveUpAfter+MaxBackoff {
		t.Errorf("gave up after %v, want at most %v", at.Sub(first), GiveUpAfter+MaxBackoff)
	}
	if tries < 24 {
		t.Errorf("got %d tries in a day, want at least 24", tries)
	}
}

func TestShouldDisable(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		failingSince time.Time
		want         bool
	}{
		{name: "NotFailing", failingSince: time.Time{}, want: false},
		{name: "JustFailed", failingSince: now, want: false},
		{name: "AlmostADay", failingSince: now.Add(-GiveUpAfter + time.Second), want: false},
		{name: "ADay", failingSince: now.Add(-GiveUpAfter), want: true},
		{name: "Longer", failingSince: now.Add(-48 * time.Hour), want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShouldDisable(tc.failingSince, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
