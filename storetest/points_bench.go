package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// BenchmarkGroupCommit has devices devices of a pool tenant write one point
// each per call through one group-commit writer, each waiting for its
// commit before it sends the next, as MQTT devices at QoS 1 do; an op is a
// point. It reports points/s and the CPU time this process spends on each
// point (user and system), which a busy machine disturbs less than the
// rate. The database server's own CPU time, for PostgreSQL, is not in it.
func BenchmarkGroupCommit(b *testing.B, devices int, open func(b *testing.B) Engine) {
	e := open(b)
	tn, ctx := MustTenant(b, e, qm.TierPool, "group-commit")
	ds := make([]*qm.Device, devices)
	for i := range ds {
		ds[i] = &qm.Device{Ident: fmt.Sprintf("gc-%d", i)}
	}
	if _, err := e.Devices().RegisterDevices(context.Background(), ds); err != nil {
		b.Fatal(err)
	}
	for _, d := range ds {
		if _, _, err := e.Devices().AssignDevice(context.Background(), d.ID, tn); err != nil {
			b.Fatal(err)
		}
	}
	w := telemetry.NewPointWriter(e, time.Now, 0)
	defer w.Close()
	base := time.Now().Add(-time.Hour)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Value
	)
	cpu0 := cpuTime()
	b.ResetTimer()
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				p := qm.Point{Time: base.Add(time.Duration(n) * time.Millisecond), Position: &qm.Position{Lat: 52.52, Lon: 13.405},
					Metrics: map[string]qm.Metric{"battery_v": qm.NumberMetric(13.9), "seq": qm.NumberMetric(float64(n))}}
				if k, err := w.Write(ctx, d.ID, []qm.Point{p}); err != nil || k != 1 {
					failed.Store(fmt.Errorf("write: stored %d of 1, %v", k, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time this process has used, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// MustSetUp returns e, which Open returned with err, once its storage is
// set up, and closes it when tb ends; it fails tb on either error. It is
// for benchmarks that open an engine of their own.
func MustSetUp[E interface {
	Engine
	Setup(ctx context.Context) error
	Close() error
}](tb testing.TB, e E, err error) E {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	if err := e.Setup(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return e
}
