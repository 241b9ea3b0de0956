package live_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/quartermaster/qm/live"
)

func ready(s *live.Subscription) bool {
	select {
	case <-s.Ready():
		return true
	default:
		return false
	}
}

func TestHub(t *testing.T) {
	t.Run("PerTenant", func(t *testing.T) {
		h := live.NewHub()
		a, b := h.Subscribe("a"), h.Subscribe("b")
		h.PointsCommitted("a", []string{"d1", "d2"})
		if !ready(a) || ready(b) {
			t.Fatal("want only A's subscriber told")
		}
		if ids, dropped := a.Take(); !slices.Equal(ids, []string{"d1", "d2"}) || dropped != 0 {
			t.Fatalf("got %v %d, want [d1 d2] 0", ids, dropped)
		}
		if ids, _ := b.Take(); len(ids) != 0 {
			t.Fatalf("B got %v", ids)
		}
	})
	t.Run("SlowClientGetsEachDeviceOnce", func(t *testing.T) {
		h := live.NewHub()
		s := h.Subscribe("a")
		for range 3 {
			h.PointsCommitted("a", []string{"d2"})
			h.PointsCommitted("a", []string{"d1", "d2"})
		}
		if ids, _ := s.Take(); !slices.Equal(ids, []string{"d2", "d1"}) {
			t.Fatalf("got %v, want [d2 d1] in the order their news came", ids)
		}
		if ready(s) {
			t.Fatal("ready after everything was taken")
		}
	})
	t.Run("BoundedDropsBeyond", func(t *testing.T) {
		h := live.NewHub()
		s := h.Subscribe("a")
		var ids []string
		for i := range live.MaxPending + 5 {
			ids = append(ids, fmt.Sprint("d", i))
		}
		h.PointsCommitted("a", ids) // never blocks
		got, dropped := s.Take()
		if len(got) != live.MaxPending || dropped != 5 {
			t.Fatalf("got %d ids and %d dropped, want %d and 5", len(got), dropped, live.MaxPending)
		}
		h.PointsCommitted("a", []string{"d0"})
		if got, _ := s.Take(); !slices.Equal(got, []string{"d0"}) {
			t.Fatalf("after a take: got %v, want the next news", got)
		}
	})
	t.Run("Close", func(t *testing.T) {
		h := live.NewHub()
		s := h.Subscribe("a")
		s.Close()
		<-s.Done()
		if h.Subscribers("a") != 0 {
			t.Fatal("a closed subscription stays subscribed")
		}
		kept := h.Subscribe("a")
		h.Close()
		<-kept.Done()
		late := h.Subscribe("a")
		<-late.Done()
		kept.Close() // after the hub's: no panic
		h.PointsCommitted("a", []string{"d1"})
		if ready(late) {
			t.Fatal("a subscription made after Close was told")
		}
	})
}
