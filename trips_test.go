package qm_test

import (
	"math"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

func drive(t0 time.Time, minute int, lat, speed float64, ignition *bool) qm.Point {
	p := qm.Point{Time: t0.Add(time.Duration(minute) * time.Minute), Position: &qm.Position{Lat: lat, Lon: 13.4, SpeedKMH: &speed}}
	if ignition != nil {
		p.Metrics = map[string]qm.Metric{"ignition": qm.BoolMetric(*ignition)}
	}
	return p
}

func TestTrips(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	on, off := true, false
	t.Run("Ignition", func(t *testing.T) {
		var f qm.TripFinder
		for _, p := range []qm.Point{
			drive(t0, 0, 52.50, 0, &off), drive(t0, 1, 52.50, 0, &on), drive(t0, 2, 52.51, 60, &on),
			drive(t0, 3, 52.52, 80, &on), drive(t0, 4, 52.52, 0, &off), drive(t0, 5, 52.52, 0, &off),
			drive(t0, 9, 52.52, 30, &on), drive(t0, 10, 52.53, 30, &on),
		} {
			f.Add(p)
		}
		trips := f.Trips()
		if len(trips) != 2 {
			t.Fatalf("got %d trips, want 2: %+v", len(trips), trips)
		}
		first := trips[0]
		if !first.Start.Equal(t0.Add(time.Minute)) || first.DurationS != 180 || first.MaxSpeedKMH != 80 || math.Abs(first.DistanceKM-2.224) > 0.01 {
			t.Errorf("first trip: %+v", first)
		}
		if first.EndPosition.Lat != 52.52 || trips[1].Points != 2 {
			t.Errorf("trips: %+v", trips)
		}
	})
	t.Run("SpeedOnly", func(t *testing.T) {
		var f qm.TripFinder
		for i, s := range []float64{0, 40, 50, 0, 0, 0, 0, 0, 0, 0, 40} {
			f.Add(drive(t0, i, 52.5+float64(i)*0.01, s, nil))
		}
		trips := f.Trips()
		if len(trips) != 2 || !trips[0].End.Equal(t0.Add(3*time.Minute)) {
			t.Fatalf("got %+v; want a trip ending when the vehicle stopped, and one under way", trips)
		}
	})
}

func TestDownsampler(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	d := qm.Downsampler{Metric: "speed_kmh", From: t0, Width: 10 * time.Minute}
	for i, s := range []float64{10, 20, 30} {
		d.Add(drive(t0, i*6, 52.5, s, nil))
	}
	d.Add(qm.Point{Time: t0.Add(time.Minute)}) // no value: skipped
	got := d.Buckets()
	if len(got) != 2 || got[0].Count != 2 || got[0].Avg != 15 || got[0].Min != 10 || got[1].Max != 30 || !got[1].Start.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("got %+v", got)
	}
}
