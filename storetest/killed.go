package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// Environment variables that turn a test binary into the child process of
// TestKilledMigration.
const (
	childStorageEnv = "QM_TEST_KILLED_MIGRATION_STORAGE"
	childTierEnv    = "QM_TEST_KILLED_MIGRATION_TIER"
)

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
	s := sqlstore.NewLocationStore(e, clock())
	for i := range tenants {
		_, tctx := MustTenant(t, e, h.Tier, fmt.Sprintf("killed-%d", i))
		MustLocation(t, s, tctx, "HQ", "")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^"+childTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childStorageEnv+"="+st.ID, childTierEnv+"="+string(h.Tier))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for seen := 0; seen < 3 && lines.Scan(); {
		if strings.HasPrefix(lines.Text(), "migrated ") {
			seen++
		}
	}
	cmd.Process.Kill()
	cmd.Wait()

	newer := sqlstore.Append(h.Migrations, "killed_extra", slowStep)
	latest := sqlstore.Latest(newer)
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
	s2 := sqlstore.NewLocationStore(e2, clock())
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

// KilledMigrationChild is the child's side of TestKilledMigration: it
// migrates the storage named in its environment one place at a time,
// printing a line per place, until it is killed. Without that environment
// it skips: it is not a test of its own.
func KilledMigrationChild(t *testing.T, h Harness) {
	id := os.Getenv(childStorageEnv)
	if id == "" {
		t.Skip("runs only as the child process of TestKilledMigration")
	}
	newer := sqlstore.Append(h.Migrations, "killed_extra", slowStep)
	e, _ := h.OpenStorage(t, id).Open(t, newer)
	e.Tenants().MigrateTenants(context.Background(), sqlstore.Latest(newer), 1, func(p sqlstore.Progress) {
		fmt.Printf("migrated %d/%d\n", p.Done, p.Total)
	})
}

// ChildTier returns the tier the child process of TestKilledMigration works
// on.
func ChildTier() qm.Tier { return qm.Tier(os.Getenv(childTierEnv)) }
