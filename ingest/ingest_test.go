package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
)

func ptr(f float64) *float64 { return &f }

// MustTime parses an RFC 3339 time.
func MustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// encodeBatch writes points in DecodeBatch's wire format, one NDJSON line
// each, with encoding/json so it shares no code with the decoder.
func encodeBatch(t testing.TB, pts []qm.Point) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, p := range pts {
		obj := map[string]any{}
		if !p.Time.IsZero() {
			obj["time"] = p.Time.Format(time.RFC3339Nano)
		}
		if pos := p.Position; pos != nil {
			obj["lat"], obj["lon"] = pos.Lat, pos.Lon
			for k, v := range map[string]*float64{"altitude_m": pos.AltitudeM, "speed_kmh": pos.SpeedKMH, "heading": pos.Heading, "accuracy_m": pos.AccuracyM} {
				if v != nil {
					obj[k] = *v
				}
			}
		}
		if len(p.Metrics) > 0 {
			obj["metrics"] = p.Metrics
		}
		line, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("encode %+v: %v", p, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// diffPoints describes how got differs from want, or returns "".
func diffPoints(got, want []qm.Point) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d points, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		switch {
		case !g.Time.Equal(w.Time):
			return fmt.Sprintf("point %d: got time %v, want %v", i, g.Time, w.Time)
		case !reflect.DeepEqual(g.Position, w.Position):
			return fmt.Sprintf("point %d: got position %s, want %s", i, showPosition(g.Position), showPosition(w.Position))
		case !maps.Equal(g.Metrics, w.Metrics):
			return fmt.Sprintf("point %d: got metrics %v, want %v", i, g.Metrics, w.Metrics)
		}
	}
	return ""
}

// showPosition formats a position with its pointer fields followed.
func showPosition(p *qm.Position) string {
	if p == nil {
		return "<nil>"
	}
	f := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("{lat %v lon %v alt %s speed %s heading %s acc %s}", p.Lat, p.Lon, f(p.AltitudeM), f(p.SpeedKMH), f(p.Heading), f(p.AccuracyM))
}

// checkError checks that err is an application error a handler can show:
// a bad request, or too large.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *qm.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v, want a *qm.Error", err, err)
	}
	if e.Code != qm.EBadRequest && !errors.Is(err, ingest.ErrTooManyPoints) {
		t.Fatalf("got code %q, want %q", e.Code, qm.EBadRequest)
	}
}

// checkPoint checks the invariants of a decoded point: every number is
// finite, every string UTF-8, the time writable in RFC 3339, and a
// latitude or longitude out of range is reported by Validate.
func checkPoint(t *testing.T, p qm.Point) {
	t.Helper()
	if y := p.Time.Year(); !p.Time.IsZero() && (y < 0 || y > 9999 || p.Time.UTC().Year() < 0 || p.Time.UTC().Year() > 9999) {
		t.Fatalf("got time %v, want years 0 to 9999", p.Time)
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if pos := p.Position; pos != nil {
		for _, f := range []*float64{&pos.Lat, &pos.Lon, pos.AltitudeM, pos.SpeedKMH, pos.Heading, pos.AccuracyM} {
			if f != nil && !finite(*f) {
				t.Fatalf("got position %s, want finite numbers", showPosition(pos))
			}
		}
		if math.Abs(pos.Lat) > 90 || math.Abs(pos.Lon) > 180 {
			var e *qm.Error
			err := p.Validate(p.Time, qm.DefaultPointLimits)
			if !errors.As(err, &e) || e.Fields["lat"] == "" && e.Fields["lon"] == "" {
				t.Fatalf("got %v for position %s, want lat or lon reported", err, showPosition(pos))
			}
		}
	}
	for name, m := range p.Metrics {
		if f, ok := m.Number(); ok && !finite(f) {
			t.Fatalf("got metric %q %v, want a finite number", name, f)
		}
		if s, ok := m.Text(); ok && !utf8.ValidString(s) {
			t.Fatalf("got metric %q %q, want UTF-8", name, s)
		}
		if m.Kind() == 0 {
			t.Fatalf("got metric %q with no value", name)
		}
	}
}

// checkRoundTrip checks that pts survive being written in the batch wire
// format and decoded again, and being written and read as qm.Point JSON.
func checkRoundTrip(t *testing.T, pts []qm.Point) {
	t.Helper()
	wire := encodeBatch(t, pts)
	if len(pts) > 0 {
		again, err := ingest.DecodeBatch(bytes.NewReader(wire), len(pts))
		if err != nil {
			t.Fatalf("decode %s again: %v", wire, err)
		}
		if d := diffPoints(again, pts); d != "" {
			t.Fatalf("after the wire round trip of %s: %s", wire, d)
		}
	}
	out, err := json.Marshal(pts)
	if err != nil {
		t.Fatalf("marshal %v: %v", pts, err)
	}
	var back []qm.Point
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", out, err)
	}
	if d := diffPoints(back, pts); d != "" {
		t.Fatalf("after the qm.Point JSON round trip of %s: %s", out, d)
	}
}
