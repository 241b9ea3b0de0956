package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

// TestTenantMoveCommand: an operator moves a tenant to another tier and
// back, seeing each table copied; a move to where it is is refused.
func TestTenantMoveCommand(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			with := func(args ...string) []string { return append(args, flags...) }
			mustRun(t, with("tenant", "create", "--slug", "roamer", "--name", "Roamer", "--tier", "pool")...)
			for _, tier := range []string{"silo", "pool"} {
				out, stderr, err := runCLI(t, with("tenant", "move", "roamer", "--tier", tier)...)
				if err != nil || !strings.Contains(out, "to "+tier) || !strings.Contains(stderr, "/") {
					t.Fatalf("move to %s: %v\n%s\n%s", tier, describe(err), out, stderr)
				}
				var tn qm.Tenant
				if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "show", "roamer", "--json")...)), &tn); err != nil || string(tn.Tier) != tier || tn.State != qm.StateActive {
					t.Fatalf("after the move to %s: %+v, %v", tier, tn, err)
				}
			}
			if _, _, err := runCLI(t, with("tenant", "move", "roamer", "--tier", "pool")...); err == nil || !strings.Contains(describe(err), "already") {
				t.Fatalf("a move to where it is: %v", err)
			}
		})
	}
}
