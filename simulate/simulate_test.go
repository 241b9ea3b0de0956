package simulate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// TestRunReports checks that each vehicle reports as often as asked, that
// only what the server accepted counts as delivered, and that a report
// refused is sent again with the next.
func TestRunReports(t *testing.T) {
	var mu sync.Mutex
	got, points := map[string]int{}, map[string][]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ident := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer token-")
		var batch []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			t.Error(err)
		}
		points[ident] = append(points[ident], len(batch))
		if got[ident]++; ident == "2" && got[ident] == 2 {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var vehicles []*Vehicle
	for i := range 3 {
		id := strconv.Itoa(i)
		vehicles = append(vehicles, NewVehicle(id, "token-"+id, 52.52, 13.405, uint64(i), time.Now()))
	}
	var failed atomic.Int64
	delivered := Run(t.Context(), vehicles, &HTTP{BaseURL: srv.URL, Client: srv.Client()}, time.Millisecond, 4, func(error) { failed.Add(1) })
	if delivered != 12 || failed.Load() != 1 {
		t.Errorf("got %d delivered and %d failed, want 12 and 1", delivered, failed.Load())
	}
	if got := fmt.Sprint(points["2"]); got != "[1 1 2 1]" {
		t.Errorf("vehicle 2 sent batches of %s points, want [1 1 2 1]: the refused one again with the next", got)
	}
	for ident, n := range got {
		if n != 4 {
			t.Errorf("vehicle %s reported %d times, want 4", ident, n)
		}
	}
}

// foreignBroker is an MQTT broker that is not Quartermaster's: it answers
// every CONNECT with return code code and then reads and drops whatever
// comes, never acknowledging a publish.
func foreignBroker(t *testing.T, code byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				if _, err := r.ReadByte(); err != nil {
					return
				}
				n, shift := 0, 0
				for {
					b, err := r.ReadByte()
					if err != nil {
						return
					}
					n |= int(b&127) << shift
					if shift += 7; b < 128 {
						break
					}
				}
				if _, err := r.Discard(n); err != nil {
					return
				}
				c.Write([]byte{0x20, 2, 0, code})
				io.Copy(io.Discard, r)
			}()
		}
	}()
	return "tcp://" + ln.Addr().String()
}

// TestMQTTForeignBroker checks that nothing counts as delivered by a broker
// that refuses the vehicles, or takes their publishes without
// acknowledging them.
func TestMQTTForeignBroker(t *testing.T) {
	for _, tc := range []struct {
		name string
		code byte
		want string
	}{
		{"Refuses", 5, "not Authorized"},
		// The acknowledgement never comes, so the short wait only makes the
		// test quicker: a busy machine cannot make it pass or fail.
		{"NeverAcknowledges", 0, "did not acknowledge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &MQTT{Broker: foreignBroker(t, tc.code), AckTimeout: 50 * time.Millisecond}
			defer m.Close()
			v := NewVehicle("sim-1", "qmd_x", 52.52, 13.405, 1, time.Now())
			var errs []error
			if n := Run(t.Context(), []*Vehicle{v}, m, time.Millisecond, 2, func(err error) { errs = append(errs, err) }); n != 0 {
				t.Errorf("got %d delivered, want 0", n)
			}
			if len(errs) != 2 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("got errors %v, want two saying %q", errs, tc.want)
			}
		})
	}
}
