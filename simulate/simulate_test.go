package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

func TestVehicle(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	v := NewVehicle("sim-1", "", 52.52, 13.405, 1, start)
	lap := time.Duration(2 * math.Pi * v.RadiusKM / v.SpeedKMH * float64(time.Hour))
	a, b := v.At(start.Add(time.Minute)), v.At(start.Add(time.Minute+10*time.Second))
	if on, _ := a.Metrics["ignition"].Bool(); !on || *a.Position.SpeedKMH != v.SpeedKMH {
		t.Fatalf("driving: %+v", a)
	}
	// Ten seconds at the vehicle's speed, along the loop.
	if d, want := qm.DistanceKM(*a.Position, *b.Position), v.SpeedKMH/360; math.Abs(d-want) > want*0.05 {
		t.Errorf("moved %.3f km in 10 s, want %.3f", d, want)
	}
	// The heading points where the vehicle goes next.
	bearing := math.Atan2((b.Position.Lon-a.Position.Lon)*math.Cos(a.Position.Lat*math.Pi/180), b.Position.Lat-a.Position.Lat) * 180 / math.Pi
	if diff := math.Mod(bearing-*a.Position.Heading+540, 360) - 180; math.Abs(diff) > 2 {
		t.Errorf("heading %.1f, but it moved towards %.1f", *a.Position.Heading, bearing)
	}
	stopped := v.At(start.Add(lap + v.StopFor/2))
	if on, _ := stopped.Metrics["ignition"].Bool(); on || *stopped.Position.SpeedKMH != 0 {
		t.Errorf("after a lap it stops: %+v", stopped)
	}
	for _, p := range []qm.Point{a, b, stopped} {
		if err := p.Validate(p.Time, qm.DefaultPointLimits); err != nil {
			t.Errorf("a simulated point is invalid: %v", err)
		}
	}
	var f qm.TripFinder
	for s := time.Duration(0); s < 2*(lap+v.StopFor); s += 10 * time.Second {
		f.Add(v.At(start.Add(s)))
	}
	if trips := f.Trips(); len(trips) != 2 || math.Abs(trips[0].DistanceKM-2*math.Pi*v.RadiusKM) > v.RadiusKM*0.1 {
		t.Errorf("two laps make two trips of one loop each: %+v", trips)
	}
}
