package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// Environment variables that turn a test binary into a child process that a
// test kills: which storage, which tier, and what to do there.
const (
	childStorageEnv = "QM_TEST_CHILD_STORAGE"
	childTierEnv    = "QM_TEST_CHILD_TIER"
	childTaskEnv    = "QM_TEST_CHILD_TASK"
)

// startChild starts this test binary running childTest (which calls Child)
// on storage st with task, and returns it with its standard output.
func startChild(t *testing.T, childTest string, st Storage, tier qm.Tier, task string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childStorageEnv+"="+st.ID, childTierEnv+"="+string(tier), childTaskEnv+"="+task)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// waitFor reads lines until one starts with prefix, n times.
func waitFor(t *testing.T, lines *bufio.Scanner, prefix string, n int) {
	t.Helper()
	for seen := 0; seen < n; {
		if !lines.Scan() {
			t.Fatalf("child ended before printing %q %d times", prefix, n)
		}
		if strings.HasPrefix(lines.Text(), prefix) {
			seen++
		}
	}
}

// Child is the child process's side of the tests that kill one. Each
// engine's tests have a test that calls it; without the environment the
// parent sets, it skips, as it is not a test of its own.
func Child(t *testing.T, h Harness) {
	id := os.Getenv(childStorageEnv)
	if id == "" {
		t.Skip("runs only as the child process of a test that kills it")
	}
	h.Tier = qm.Tier(os.Getenv(childTierEnv))
	st := h.OpenStorage(t, id)
	switch os.Getenv(childTaskEnv) {
	case "migrate":
		newer := schema.Append(h.Migrations, "killed_extra", slowStep)
		e, _ := st.Open(t, newer)
		e.Tenants().MigrateTenants(context.Background(), schema.Latest(newer), 1, func(p schema.Progress) {
			fmt.Printf("migrated %d/%d\n", p.Done, p.Total)
		})
	case "provision":
		// The pool is already at this version (the parent's step was
		// instant), so only the new tenant's storage runs the slow step.
		e, _ := st.Open(t, schema.Append(h.Migrations, "stall", h.StallSQL))
		fmt.Println("provisioning")
		e.Tenants().CreateTenant(context.Background(), qm.NewTenant{Slug: "stuck", Name: "Stuck", Tier: h.Tier})
	}
}

// slowStep is the newer migration: a new column, and enough work per place
// that a kill often lands inside a step's transaction.
const slowStep = `ALTER TABLE locations ADD COLUMN killed_extra TEXT;
UPDATE locations SET killed_extra = name;
CREATE INDEX locations_killed_extra ON locations (tenant_id, killed_extra)`

// TestKilledMigration creates tenants of the harness's tier, starts a
// migration to a newer version in a child process (this test binary running
// childTest, which calls KilledMigrationChild), kills it with SIGKILL once it
// has finished a few places, and checks that the next run brings every
// tenant to the newest version with its data intact.
func TestKilledMigration(t *testing.T, h Harness, childTest string, tenants int) {
	ctx := context.Background()
	st := h.NewStorage(t)
	e, err := st.Open(t, h.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	s := dataplane.NewLocationStore(e, clock())
	for i := range tenants {
		_, tctx := MustTenant(t, e, h.Tier, fmt.Sprintf("killed-%d", i))
		MustLocation(t, s, tctx, "HQ", "")
	}

	cmd, lines := startChild(t, childTest, st, h.Tier, "migrate")
	waitFor(t, lines, "migrated ", 3)
	cmd.Process.Kill()
	cmd.Wait()

	newer := schema.Append(h.Migrations, "killed_extra", slowStep)
	latest := schema.Latest(newer)
	e2, err := st.Open(t, newer)
	if err != nil {
		t.Fatal(err)
	}
	behind, err := e2.Tenants().Behind(ctx, latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(behind) == 0 || len(behind) >= tenants {
		t.Fatalf("after the kill %d of %d tenants are behind: the child was not killed midway", len(behind), tenants)
	}
	rep, err := e2.Tenants().MigrateTenants(ctx, latest, 4, nil)
	if err != nil || len(rep.Failures) > 0 {
		t.Fatalf("second run: %v, failures %+v", err, rep.Failures)
	}
	ts, err := e2.Tenants().Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2 := dataplane.NewLocationStore(e2, clock())
	for _, tn := range ts {
		if tn.SchemaVersion != latest {
			t.Errorf("tenant %s at version %d, want %d", tn.Slug, tn.SchemaVersion, latest)
		}
		ls, err := s2.Locations(scoped(tn), qm.LocationFilter{})
		if err != nil || len(ls) != 1 || ls[0].Name != "HQ" {
			t.Errorf("tenant %s: locations %v, %v; want its one HQ", tn.Slug, ls, err)
		}
	}
}

// TestIncompleteProvisioning kills a child process while it provisions a
// tenant (stalled in a migration step), and checks that RemoveIncomplete then
// removes the catalog row and whatever storage the child had made, and that
// the slug can be used again.
func TestIncompleteProvisioning(t *testing.T, h Harness, childTest string) {
	ctx := context.Background()
	st := h.NewStorage(t)
	// Bring the pool to the version the child will know, with an instant
	// step in place of the stall.
	if _, err := st.Open(t, schema.Append(h.Migrations, "stall", "SELECT 1")); err != nil {
		t.Fatal(err)
	}
	cmd, lines := startChild(t, childTest, st, h.Tier, "provision")
	waitFor(t, lines, "provisioning", 1)
	e, err := st.Open(t, schema.Append(h.Migrations, "stall", "SELECT 1"))
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the child writes its catalog row", func() (bool, error) {
		tn, err := e.Tenants().Tenant(ctx, "stuck")
		if err != nil {
			return false, nil
		}
		if tn.State != qm.StateProvisioning {
			return false, fmt.Errorf("child's tenant is %s, want it stalled in provisioning", tn.State)
		}
		return true, nil
	})
	// Let it get into its storage. A silo's file or database exists before
	// its migrations run; a bridge schema is made inside the migrations'
	// transaction, so nothing of it shows.
	if h.Tier == qm.TierSilo {
		poll.Until(t, "the child makes its silo", func() (bool, error) { return len(st.TenantPlaces(t)) > 0, nil })
	}
	// A moment more lets the child reach its stalled step more often; the
	// test holds wherever the kill lands.
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	removed, err := e.Tenants().RemoveIncomplete(ctx, 0)
	if err != nil || len(removed) != 1 || removed[0].Slug != "stuck" {
		t.Fatalf("got %v, %v; want the stuck tenant removed", removed, err)
	}
	if _, err := e.Tenants().Tenant(ctx, "stuck"); qm.ErrorCode(err) != qm.ENotFound {
		t.Fatalf("catalog row left behind: %v", err)
	}
	if left := st.TenantPlaces(t); len(left) != 0 {
		t.Fatalf("storage left behind: %v", left)
	}
	if again, err := e.Tenants().RemoveIncomplete(ctx, 0); err != nil || len(again) != 0 {
		t.Fatalf("second removal: %v, %v", again, err)
	}
	MustTenant(t, e, h.Tier, "stuck")
}
