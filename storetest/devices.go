package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// auditActions lists the actions of the audit entries of ctx's tenant
// about resource id, newest first.
func auditActions(t *testing.T, e Engine, ctx context.Context, id string) []string {
	t.Helper()
	entries, err := sqlstore.NewAuditStore(e).AuditLog(ctx, qm.AuditFilter{ResourceID: id})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	return actions
}

// TestDevices checks the operator's device inventory: credentials,
// assignment, transfer with custody history, and that each tenant's audit
// log records what concerned it.
func TestDevices(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "dev-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "dev-b")
	s := e.Devices()
	ctx := context.Background()
	d := &qm.Device{Ident: "356938035643809", Serial: "TRK-1", Model: "FMC130"}
	token, err := s.RegisterDevice(ctx, d)
	if err != nil || !strings.HasPrefix(token, "qmd_") || d.Kind != qm.DeviceVehicle {
		t.Fatalf("register: %q, %+v, %v", token, d, err)
	}
	_, err = s.RegisterDevice(ctx, &qm.Device{Ident: "356938035643809"})
	wantCode(t, err, qm.EConflict)
	_, err = s.RegisterDevice(ctx, &qm.Device{Ident: "devices/+/telemetry", Kind: "toaster"})
	wantFields(t, err, qm.EInvalid, "ident", "kind")
	if got, err := s.DeviceByToken(ctx, token); err != nil || got.ID != d.ID {
		t.Fatalf("by token: %+v, %v", got, err)
	}
	_, err = s.DeviceByToken(ctx, "qmd_forged")
	wantCode(t, err, qm.EUnauthorized)
	_, err = s.Device(ctx, "no-such-device")
	wantCode(t, err, qm.ENotFound)

	if _, newToken, err := s.AssignDevice(ctx, d.Ident, ta); err != nil || newToken != "" {
		t.Fatalf("assign: %q, %v", newToken, err)
	}
	_, _, err = s.AssignDevice(ctx, d.ID, ta)
	wantCode(t, err, qm.EConflict)
	if ds, err := s.Devices(ctx, qm.DeviceFilter{TenantID: ta.ID}); err != nil || len(ds) != 1 || ds[0].Ident != d.Ident {
		t.Fatalf("A's devices: %v, %v", ds, err)
	}
	if ds, _ := s.Devices(ctx, qm.DeviceFilter{TenantID: tb.ID}); len(ds) != 0 {
		t.Fatalf("B's devices before the transfer: %v", ds)
	}
	if got := auditActions(t, e, ctxA, d.ID); len(got) != 1 || got[0] != "device.assign" {
		t.Fatalf("A's log: %v", got)
	}

	t.Run("Transfer", func(t *testing.T) {
		moved, newToken, err := s.AssignDevice(ctx, d.Ident, tb)
		if err != nil || newToken == "" || moved.TenantID != tb.ID {
			t.Fatalf("transfer: %+v, %q, %v", moved, newToken, err)
		}
		_, err = s.DeviceByToken(ctx, token)
		wantCode(t, err, qm.EUnauthorized) // the old tenant's credential is dead
		if got, err := s.DeviceByToken(ctx, newToken); err != nil || got.TenantID != tb.ID {
			t.Fatalf("new token: %+v, %v", got, err)
		}
		cs, err := s.Custody(ctx, d.Ident)
		if err != nil || len(cs) != 2 || cs[0].TenantID != ta.ID || cs[0].Until == nil || cs[1].TenantID != tb.ID || cs[1].Until != nil {
			t.Fatalf("custody: %+v, %v", cs, err)
		}
		if got := auditActions(t, e, ctxA, d.ID); len(got) != 2 || got[0] != "device.transfer_out" {
			t.Fatalf("A's log: %v", got)
		}
		if got := auditActions(t, e, ctxB, d.ID); len(got) != 1 || got[0] != "device.transfer_in" {
			t.Fatalf("B's log: %v", got)
		}
		token = newToken
	})
	t.Run("RotateAndUnassign", func(t *testing.T) {
		rotated, err := s.RotateToken(ctx, d.Ident)
		if err != nil || rotated == token {
			t.Fatalf("rotate: %q, %v", rotated, err)
		}
		_, err = s.DeviceByToken(ctx, token)
		wantCode(t, err, qm.EUnauthorized)
		if _, err := s.UnassignDevice(ctx, d.Ident); err != nil {
			t.Fatal(err)
		}
		_, err = s.UnassignDevice(ctx, d.Ident)
		wantCode(t, err, qm.EConflict)
		if ds, err := s.Devices(ctx, qm.DeviceFilter{Unassigned: true}); err != nil || len(ds) != 1 {
			t.Fatalf("unassigned: %v, %v", ds, err)
		}
		if cs, _ := s.Custody(ctx, d.ID); len(cs) != 2 || cs[1].Until == nil {
			t.Fatalf("custody after unassign: %+v", cs)
		}
		if got := auditActions(t, e, ctxB, d.ID); len(got) != 3 || got[0] != "device.unassign" || got[1] != "device.rotate_token" {
			t.Fatalf("B's log: %v", got)
		}
	})
}

// TestDeviceBulk checks registering many devices at once: all or none.
func TestDeviceBulk(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	s := e.Devices()
	ctx := context.Background()
	_, err := s.RegisterDevices(ctx, []*qm.Device{{Ident: "bulk-1"}, {Ident: "bad ident"}, {Ident: "bulk-1"}})
	wantFields(t, err, qm.EInvalid, "devices[1]", "devices[2]")
	if _, err := s.RegisterDevice(ctx, &qm.Device{Ident: "bulk-9"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.RegisterDevices(ctx, []*qm.Device{{Ident: "bulk-1"}, {Ident: "bulk-9"}})
	wantFields(t, err, qm.EConflict, "devices[1]")
	if ds, _ := s.Devices(ctx, qm.DeviceFilter{}); len(ds) != 1 {
		t.Fatalf("a refused batch registered %d devices", len(ds)-1)
	}
	tokens, err := s.RegisterDevices(ctx, []*qm.Device{{Ident: "bulk-1", Kind: qm.DevicePhone}, {Ident: "bulk-2"}})
	if err != nil || len(tokens) != 2 || tokens[0] == tokens[1] {
		t.Fatalf("bulk: %v, %v", tokens, err)
	}
	if d, err := s.DeviceByToken(ctx, tokens[1]); err != nil || d.Ident != "bulk-2" {
		t.Fatalf("second token names %+v, %v", d, err)
	}
	if ds, _ := s.Devices(ctx, qm.DeviceFilter{After: "bulk-1", Limit: 1}); len(ds) != 1 || ds[0].Ident != "bulk-2" {
		t.Fatalf("page after bulk-1: %v", ds)
	}
}
