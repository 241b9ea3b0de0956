package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

// TestTenantDeleteCommands: an operator deletes a tenant (out of service,
// with its purge time), restores it, then purges it at once after typing
// its slug again (a wrong slug deletes nothing); the tombstone is listed,
// each step is in the operator's audit log, and the slug is free again.
func TestTenantDeleteCommands(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			with := func(args ...string) []string { return append(args, flags...) }
			mustRun(t, with("tenant", "create", "--slug", "gone-co", "--name", "Gone Co", "--tier", "silo")...)
			show := func() qm.Tenant {
				t.Helper()
				var tn qm.Tenant
				if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "show", "gone-co", "--json")...)), &tn); err != nil {
					t.Fatal(err)
				}
				return tn
			}
			if out := mustRun(t, with("tenant", "delete", "gone-co", "--grace", "48h")...); !strings.Contains(out, "purged at") {
				t.Fatalf("delete: %s", out)
			}
			if tn := show(); tn.State != qm.StateDeleting || tn.DeleteAfter == nil || tn.DeletedBy != cliOperator.Name {
				t.Fatalf("after delete: %+v", tn)
			}
			mustRun(t, with("tenant", "restore", "gone-co")...)
			if tn := show(); tn.State != qm.StateActive || tn.DeleteAfter != nil {
				t.Fatalf("after restore: %+v", tn)
			}

			var out, errOut bytes.Buffer
			err := run(t.Context(), with("tenant", "delete", "gone-co", "--now"), strings.NewReader("gone\n"), &out, &errOut)
			if err == nil || !strings.Contains(describe(err), `was not "gone-co"`) {
				t.Fatalf("a wrong slug typed: %v", err)
			}
			if tn := show(); tn.State != qm.StateActive {
				t.Fatalf("after a wrong slug: %+v; want it untouched", tn)
			}
			out.Reset()
			if err := run(t.Context(), with("tenant", "delete", "gone-co", "--now"), strings.NewReader("gone-co\n"), &out, &errOut); err != nil {
				t.Fatalf("delete --now: %v\n%s", describe(err), errOut.String())
			}
			if !strings.Contains(out.String(), "verified: nothing of it remains") {
				t.Fatalf("delete --now said: %s", out.String())
			}
			var stones []qm.Tombstone
			if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "tombstones", "--json")...)), &stones); err != nil || len(stones) != 1 ||
				stones[0].Slug != "gone-co" || !stones[0].Verified || stones[0].DeletedBy != cliOperator.Name {
				t.Fatalf("tombstones %+v, %v", stones, err)
			}
			var entries []qm.OperatorAuditEntry
			if err := json.Unmarshal([]byte(mustRun(t, with("audit", "--tenant", "gone-co", "--json")...)), &entries); err != nil || len(entries) != 5 {
				t.Fatalf("the operator's audit log of gone-co: %+v, %v", entries, err)
			}
			var actions []string
			for _, e := range entries {
				actions = append(actions, e.Action)
				if e.ActorName != cliOperator.Name || e.TenantID != stones[0].TenantID {
					t.Errorf("entry %+v: want by %q, of tenant %s", e, cliOperator.Name, stones[0].TenantID)
				}
			}
			if got, want := strings.Join(actions, " "), "tenant.purge tenant.delete tenant.restore tenant.delete tenant.create"; got != want {
				t.Errorf("the operator's audit log of gone-co: got %s, want %s", got, want)
			}
			if out := mustRun(t, with("audit", "--action", "tenant.purge")...); !strings.Contains(out, "gone-co") || !strings.Contains(out, `"verified":true`) {
				t.Errorf("audit --action tenant.purge: %s", out)
			}
			mustRun(t, with("tenant", "create", "--slug", "gone-co", "--name", "Gone Co again")...)
		})
	}
}
