package sqlite_test

import (
	"bytes"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/storetest"
	"github.com/quartermaster/qm/tenancy"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZSpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_ROWS"))
	if n == 0 {
		t.Skip()
	}
	db, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}
	tn, _ := storetest.MustTenant(t, db, qm.TierPool, "speed")
	csv := assetcsv.Sample(n)
	for _, stmt := range strings.Split(os.Getenv("ZZ_SQL"), ";") {
		if stmt == "" {
			continue
		}
		if err := db.Update(tenancy.WithTenant(t.Context(), tn), func(c sqlstore.Conn) error { _, err := c.Exec(t.Context(), stmt); return err }); err != nil {
			t.Fatal(err)
		}
	}
	s := sqlstore.NewAssetStore(db, db.Identity(), time.Now)
	for _, name := range []string{"create", "update"} {
		r, _ := assetcsv.NewReader(bytes.NewReader(csv), qm.ImportOptions{})
		if name == os.Getenv("ZZ_PROF") {
			f, _ := os.Create("/tmp/zz.prof")
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
		c0, w0 := cpu(), time.Now()
		rep, err := r.Import(tenancy.WithTenant(t.Context(), tn), s)
		if err != nil || rep.Failed > 0 {
			t.Fatal(rep, err)
		}
		c, w := cpu()-c0, time.Since(w0)
		t.Logf("%s %d rows: cpu %v (%.0f rows/cpu-s), wall %v (%.0f rows/s)", name, n, c.Round(time.Millisecond), float64(n)/c.Seconds(), w.Round(time.Millisecond), float64(n)/w.Seconds())
	}
}
