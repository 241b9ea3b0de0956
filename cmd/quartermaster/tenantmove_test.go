package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/storetest"
	"github.com/quartermaster/qm/tenancy"
)

// TestTenantMoveCommand: an operator moves a tenant to another tier and
// back, seeing each table copied; a move to where it is is refused. A
// SQLite server moves it into a database of its own on a PostgreSQL
// server, and back.
func TestTenantMoveCommand(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres", "sqlite+postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			with := func(args ...string) []string { return append(args, flags...) }
			mustRun(t, with("tenant", "create", "--slug", "roamer", "--name", "Roamer", "--tier", "pool")...)
			type place struct{ tier, server string }
			route := []place{{tier: "silo"}, {tier: "pool"}}
			if engine == "sqlite+postgres" {
				route = []place{{"silo", "big"}, {tier: "silo"}, {"silo", "big"}, {tier: "pool"}}
			}
			for _, to := range route {
				args := with("tenant", "move", "roamer", "--tier", to.tier)
				if to.server != "" {
					args = append(args, "--server", to.server)
				}
				out, stderr, err := runCLI(t, args...)
				if err != nil || !strings.Contains(out, "to "+to.tier) || !strings.Contains(stderr, "/") {
					t.Fatalf("move to %+v: %v\n%s\n%s", to, describe(err), out, stderr)
				}
				var tn qm.Tenant
				if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "show", "roamer", "--json")...)), &tn); err != nil || string(tn.Tier) != to.tier || tn.State != qm.StateActive {
					t.Fatalf("after the move to %+v: %+v, %v", to, tn, err)
				}
				if want := (to.server != "" || engine == "postgres"); (tn.Placement.Engine == qm.EnginePostgres) != want {
					t.Fatalf("after the move to %+v the tenant is at %+v", to, tn.Placement)
				}
				var servers []qm.DataServer
				if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "servers", "--json")...)), &servers); err != nil {
					t.Fatal(err)
				}
				for _, s := range servers {
					if keeps := s.Engine == tn.Placement.Engine && s.Name == tn.Placement.Server; (s.Tenants == 1) != keeps || keeps && s.Bytes <= 0 {
						t.Fatalf("after the move to %+v, servers %+v", to, servers)
					}
				}
			}
			if _, _, err := runCLI(t, with("tenant", "move", "roamer", "--tier", "pool")...); err == nil || !strings.Contains(describe(err), "already") {
				t.Fatalf("a move to where it is: %v", err)
			}
		})
	}
}

// lockedBuffer is a buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMoveKilled: `tenant move` killed with SIGKILL in the middle of its
// copy leaves the tenant moving (served on) and half a copy; the
// recovery of its node (the same holder, as a node restarted is) rolls
// it back: served from the pool again, every table as it was, nothing
// at the silo. Moved again, it arrives whole.
func TestMoveKilled(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			mustRun(t, append([]string{"tenant", "create", "--slug", "roamer", "--name", "Roamer", "--tier", "pool"}, flags...)...)
			e := openForTest(t, flags)
			ctx := t.Context()
			tn, err := e.Tenants().Tenant(ctx, "roamer")
			if err != nil {
				t.Fatal(err)
			}
			d := &qm.Device{Ident: "roamer-van"}
			if _, err := e.Devices().RegisterDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
				t.Fatal(err)
			}
			w := telemetry.NewPointWriter(e, time.Now, 0)
			start := time.Now().Add(-100 * time.Hour)
			for i := range 2 {
				batch := make([]qm.Point, 5000)
				for j := range batch {
					batch[j] = qm.Point{Time: start.Add(time.Duration(i*5000+j) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4}}
				}
				if _, err := w.Write(tenancy.WithTenant(ctx, tn), d.ID, batch); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			_, before := storetest.MustExport(t, e, "roamer")

			args, _ := json.Marshal(append([]string{"tenant", "move", "roamer", "--tier", "silo"}, flags...))
			cmd := exec.Command(os.Args[0], "-test.run", "^TestDurabilityServer$", "-test.count=1")
			// Held once it has copied the points, the mover is killed there.
			cmd.Env = append(os.Environ(), durabilityChild+"="+string(args), moveHoldEnv+"=points")
			progress := &lockedBuffer{}
			cmd.Stderr = progress
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, "the move has copied the points", func() (bool, error) { return strings.Contains(progress.String(), " points 10000"), nil })
			cmd.Process.Kill()
			cmd.Wait()
			poll.Until(t, "the tenant shows moving", func() (bool, error) {
				tn, err := e.Tenants().Tenant(ctx, "roamer")
				return err == nil && tn.Moving, err
			})

			host, _ := os.Hostname()
			done, err := e.Tenants().RecoverMoves(ctx, fmt.Sprintf("%s/pid-%d", host, cmd.Process.Pid))
			if err != nil || len(done) != 1 {
				t.Fatalf("recovered %v, %v", done, err)
			}
			back, err := e.Tenants().Tenant(ctx, "roamer")
			if err != nil || back.State != qm.StateActive || back.Tier != qm.TierPool {
				t.Fatalf("after the recovery: %+v, %v", back, err)
			}
			_, after := storetest.MustExport(t, e, "roamer")
			storetest.SameTables(t, before, after)
			out := mustRun(t, append([]string{"tenant", "move", "roamer", "--tier", "silo"}, flags...)...)
			if !strings.Contains(out, "to silo") {
				t.Fatalf("the move again: %s", out)
			}
			// Read as another node would once the move is over: afresh.
			_, moved := storetest.MustExport(t, openForTest(t, flags), "roamer")
			storetest.SameTables(t, before, moved)
		})
	}
}
