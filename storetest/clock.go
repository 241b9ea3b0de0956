package storetest

import (
	"sync"
	"time"
)

// clock returns a time source that moves forward a millisecond per call, so
// tests see distinct, ordered times without sleeping.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}
