package qm

import (
	"math"
	"time"
)

// Trip is a journey derived from a device's points: from the ignition
// turning on (or, for devices that report no ignition, the vehicle
// starting to move) to it turning off (or standing still for TripIdle).
type Trip struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	DurationS     float64   `json:"duration_s"`
	DistanceKM    float64   `json:"distance_km"`
	MaxSpeedKMH   float64   `json:"max_speed_kmh"`
	StartPosition *Position `json:"start_position,omitempty"`
	EndPosition   *Position `json:"end_position,omitempty"`
	Points        int       `json:"points"`
}

// Trips are found with these thresholds.
const (
	// TripMovingKMH is the speed above which a vehicle without an
	// ignition signal counts as moving.
	TripMovingKMH = 5
	// TripIdle ends a trip of a vehicle without an ignition signal that
	// has not moved for this long.
	TripIdle = 5 * time.Minute
)

// TripFinder derives trips from a device's points, given oldest first.
type TripFinder struct {
	trips   []Trip
	cur     *Trip
	last    *Position
	stillAt time.Time // when the vehicle last stopped moving, within a trip
}

// Add takes the next point.
func (f *TripFinder) Add(p Point) {
	speed := -1.0
	if p.Position != nil && p.Position.SpeedKMH != nil {
		speed = *p.Position.SpeedKMH
	}
	on, hasIgnition := p.Metrics["ignition"].Bool()
	moving := speed > TripMovingKMH
	switch {
	case f.cur == nil && (hasIgnition && on || !hasIgnition && moving):
		f.cur = &Trip{Start: p.Time, StartPosition: p.Position}
		f.last, f.stillAt = nil, time.Time{}
	case f.cur == nil:
		return
	}
	f.cur.End, f.cur.Points = p.Time, f.cur.Points+1
	f.cur.MaxSpeedKMH = max(f.cur.MaxSpeedKMH, speed)
	if p.Position != nil {
		if f.last != nil {
			f.cur.DistanceKM += DistanceKM(*f.last, *p.Position)
		}
		f.last, f.cur.EndPosition = p.Position, p.Position
	}
	switch {
	case hasIgnition && !on:
		f.close()
	case !hasIgnition && !moving:
		if f.stillAt.IsZero() {
			f.stillAt = p.Time
		} else if p.Time.Sub(f.stillAt) >= TripIdle {
			f.cur.End = f.stillAt
			f.close()
		}
	default:
		f.stillAt = time.Time{}
	}
}

func (f *TripFinder) close() {
	f.cur.DurationS = f.cur.End.Sub(f.cur.Start).Seconds()
	f.cur.DistanceKM = math.Round(f.cur.DistanceKM*1000) / 1000
	f.trips = append(f.trips, *f.cur)
	f.cur = nil
}

// Trips returns the trips found; one still under way at the last point is
// included, ending there.
func (f *TripFinder) Trips() []Trip {
	if f.cur != nil {
		f.close()
	}
	if f.trips == nil {
		return []Trip{}
	}
	return f.trips
}

// DistanceKM is the great-circle distance between two positions.
func DistanceKM(a, b Position) float64 {
	const earthKM = 6371.0088
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla, dlo := la2-la1, (b.Lon-a.Lon)*math.Pi/180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * earthKM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// Bucket is one interval of a downsampled metric: the points in
// [Start, Start+bucket) that carried it as a number.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Avg   float64   `json:"avg"`
}

// Downsampler folds points into buckets of one metric ("speed_kmh" and
// "altitude_m" read the position).
type Downsampler struct {
	Metric string
	From   time.Time
	Width  time.Duration
	out    []Bucket
	sum    float64
}

// Add takes the next point, oldest first.
func (d *Downsampler) Add(p Point) {
	v, ok := p.Metrics[d.Metric].Number()
	if !ok && p.Position != nil {
		switch {
		case d.Metric == "speed_kmh" && p.Position.SpeedKMH != nil:
			v, ok = *p.Position.SpeedKMH, true
		case d.Metric == "altitude_m" && p.Position.AltitudeM != nil:
			v, ok = *p.Position.AltitudeM, true
		}
	}
	if !ok {
		return
	}
	start := d.From.Add(p.Time.Sub(d.From).Truncate(d.Width))
	if n := len(d.out); n == 0 || !d.out[n-1].Start.Equal(start) {
		d.finish()
		d.out = append(d.out, Bucket{Start: start, Min: v, Max: v})
		d.sum = 0
	}
	b := &d.out[len(d.out)-1]
	b.Count++
	b.Min, b.Max = min(b.Min, v), max(b.Max, v)
	d.sum += v
}

func (d *Downsampler) finish() {
	if n := len(d.out); n > 0 {
		d.out[n-1].Avg = d.sum / float64(d.out[n-1].Count)
	}
}

// Buckets returns the buckets that hold a value, oldest first.
func (d *Downsampler) Buckets() []Bucket {
	d.finish()
	if d.out == nil {
		return []Bucket{}
	}
	return d.out
}
