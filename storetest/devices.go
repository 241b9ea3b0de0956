package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// auditActions lists the actions of the audit entries of ctx's tenant
// about resource id, newest first.
func auditActions(t *testing.T, e Engine, ctx context.Context, id string) []string {
	t.Helper()
	entries, err := dataplane.NewAuditStore(e).AuditLog(ctx, qm.AuditFilter{ResourceID: id})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	return actions
}

// heardChanges records what a device inventory announces.
type heardChanges []qm.DeviceChange

func (h *heardChanges) DeviceChanged(_ context.Context, c qm.DeviceChange) { *h = append(*h, c) }

// want checks that the inventory announced exactly n changes so far, the
// last one being action on a device that tenant from held before.
func (h *heardChanges) want(t *testing.T, n int, action, from string) {
	t.Helper()
	if len(*h) != n {
		t.Fatalf("announced %d changes, want %d: %+v", len(*h), n, *h)
	}
	if last := (*h)[n-1]; last.Action != action || last.FromTenantID != from || last.Device == nil {
		t.Fatalf("announced %+v, want %s from %q", last, action, from)
	}
}

// TestDevices checks the operator's device inventory: credentials,
// assignment, transfer with custody history, that each tenant's audit
// log records what concerned it, and that every committed change (and
// nothing else) is announced to the inventory's observers.
func TestDevices(t *testing.T, h Harness) {
	e := MustOpenEmpty(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "dev-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "dev-b")
	s := e.Devices()
	var heard heardChanges
	s.Notify(&heard)
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
	heard.want(t, 1, qm.DeviceAssigned, "")
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
		heard.want(t, 2, qm.DeviceTransferred, ta.ID)
		if heard[1].Device.TenantID != tb.ID {
			t.Fatalf("announced the transfer of %+v, want it held by B", heard[1].Device)
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
		heard.want(t, 3, qm.DeviceRotated, tb.ID)
		if _, err := s.UnassignDevice(ctx, d.Ident); err != nil {
			t.Fatal(err)
		}
		_, err = s.UnassignDevice(ctx, d.Ident)
		wantCode(t, err, qm.EConflict)
		heard.want(t, 4, qm.DeviceUnassigned, tb.ID)
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
	t.Run("Update", func(t *testing.T) {
		phone := &qm.Device{Ident: "phone-1", Kind: qm.DevicePhone, IdentOnly: true}
		if _, err := s.RegisterDevice(ctx, phone); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DeviceByIdent(ctx, phone.Ident); err != nil || !got.IdentOnly {
			t.Fatalf("registered ident-only: %+v, %v", got, err)
		}
		if _, _, err := s.AssignDevice(ctx, phone.ID, ta); err != nil {
			t.Fatal(err)
		}
		no := false
		got, err := s.UpdateDevice(ctx, phone.Ident, qm.DeviceUpdate{IdentOnly: &no, Notes: ptr(" spare ")})
		if err != nil || got.IdentOnly || got.Notes != "spare" || got.Kind != qm.DevicePhone {
			t.Fatalf("update: %+v, %v", got, err)
		}
		// The credential cache forgets the mark at once on this node.
		if got, err := s.DeviceByIdent(ctx, phone.Ident); err != nil || got.IdentOnly {
			t.Fatalf("after update, by ident: %+v, %v", got, err)
		}
		if ds, _ := s.Devices(ctx, qm.DeviceFilter{TenantID: ta.ID}); len(ds) != 1 || ds[0].IdentOnly || ds[0].Notes != "spare" {
			t.Fatalf("listed: %+v", ds)
		}
		if got := auditActions(t, e, ctxA, phone.ID); len(got) != 2 || got[0] != "device.update" {
			t.Fatalf("A's log: %v", got)
		}
		_, err = s.UpdateDevice(ctx, phone.Ident, qm.DeviceUpdate{Kind: ptr("toaster")})
		wantFields(t, err, qm.EInvalid, "kind")
		_, err = s.UpdateDevice(ctx, "no-such-device", qm.DeviceUpdate{IdentOnly: &no})
		wantCode(t, err, qm.ENotFound)
	})
}

// TestDeviceBulk checks registering many devices at once: all or none.
func TestDeviceBulk(t *testing.T, h Harness) {
	e := MustOpenEmpty(t, h)
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
	if n, err := s.CountDevices(ctx, qm.DeviceFilter{After: "bulk-1", Limit: 1}); err != nil || n != 3 {
		t.Fatalf("count: got %d, %v; want 3, whatever the page", n, err)
	}
	if n, err := s.CountDevices(ctx, qm.DeviceFilter{TenantID: "not-an-id"}); err != nil || n != 0 {
		t.Fatalf("count of a tenant that cannot exist: got %d, %v", n, err)
	}
}
