package storetest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// heardOn records what a device inventory announces, for a test in
// another goroutine.
type heardOn struct {
	mu       sync.Mutex
	changes  []qm.DeviceChange
	settings [][2]string // tenant id, device id
}

func (h *heardOn) DeviceSettingsChanged(_ context.Context, tenantID, deviceID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settings = append(h.settings, [2]string{tenantID, deviceID})
}

// hasSettings reports whether a change of the settings tenant tenantID
// keeps of device deviceID was heard.
func (h *heardOn) hasSettings(tenantID, deviceID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.settings, [2]string{tenantID, deviceID})
}

func (h *heardOn) DeviceChanged(_ context.Context, c qm.DeviceChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, c)
}

// has reports whether a change of device ident by action was heard.
func (h *heardOn) has(ident, action string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.changes, func(c qm.DeviceChange) bool { return c.Device.Ident == ident && c.Action == action })
}

// TestCatalogChanges opens two engines on one storage, as two nodes: for
// each change of authorization or limits made on node A, node B, which
// trusts its caches for an hour and runs WatchChanges, stops honouring
// what it cached before. Only the published change can make it: a change
// that forgets to publish keeps B waiting until the test fails.
func TestCatalogChanges(t *testing.T, h Harness) {
	a, b := MustOpenNodes(t, h)
	b.Tenants().SetCacheTTL(time.Hour)
	heard := &heardOn{}
	b.Devices().Notify(heard)
	ctx, stop := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- b.Tenants().WatchChanges(ctx, slog.New(slog.DiscardHandler)) }()
	defer func() { stop(); <-watched }()

	// B sees a change made before its watcher began only as the watcher
	// begins, forgetting what B cached: once B sees one, the watcher
	// runs, and what follows is its doing.
	warm, _ := MustTenant(t, a, h.Tier, "warm-up")
	if _, err := b.Tenants().Tenant(ctx, warm.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Tenants().SetState(ctx, warm.Slug, qm.StateSuspended); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "node B's watcher begins", func() (bool, error) {
		got, err := b.Tenants().Tenant(ctx, warm.Slug)
		return err == nil && got.State == qm.StateSuspended, err
	})

	tn, _ := MustTenant(t, a, h.Tier, "changed")
	other, _ := MustTenant(t, a, h.Tier, "changed-to")
	plans := catalog.NewPlanStore(a.Tenants())
	maxAssets := func(n string) qm.LimitSet {
		var l qm.LimitSet
		l.Set("max_assets", n)
		return l
	}
	if err := plans.CreatePlan(ctx, &qm.Plan{Name: "team", Limits: maxAssets("5")}); err != nil {
		t.Fatal(err)
	}
	// maxAssetsIs reports whether node B has tn work under want assets
	// at most.
	maxAssetsIs := func(want int64) func() (bool, error) {
		return func() (bool, error) {
			got, err := b.Tenants().Tenant(ctx, tn.Slug)
			return err == nil && got.Limits.MaxAssets() == want, err
		}
	}
	now := time.Now()
	device := func(ident string) (*qm.Device, string) {
		t.Helper()
		d := &qm.Device{Ident: ident}
		token, err := a.Devices().RegisterDevice(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
			t.Fatal(err)
		}
		return d, token
	}
	// deviceHonoured reports whether node B takes the device's token as
	// the credential of a device of tn.
	deviceHonoured := func(token string) func() (bool, error) {
		return func() (bool, error) {
			d, err := b.Devices().DeviceByToken(ctx, token)
			if qm.ErrorCode(err) == qm.EUnauthorized {
				return false, nil
			}
			return err == nil && d.TenantID == tn.ID, err
		}
	}

	cases := []struct {
		name string
		// setup makes what B will honour, and returns how B honours it.
		setup func(t *testing.T) (honoured func() (bool, error), change func() error)
	}{
		{"TokenRevoked", func(t *testing.T) (func() (bool, error), func() error) {
			tok := &qm.APIToken{Name: "ci", Role: "admin"}
			if err := a.Identity().CreateToken(ctx, tn.ID, tok, "hash-revoked", now); err != nil {
				t.Fatal(err)
			}
			return func() (bool, error) {
					_, got, err := b.Identity().TokenBySecret(ctx, "hash-revoked")
					return err == nil && got.RevokedAt == nil, err
				}, func() error {
					return a.Identity().RevokeToken(ctx, tn.ID, tok.ID, now)
				}
		}},
		{"MemberRemoved", func(t *testing.T) (func() (bool, error), func() error) {
			u := &qm.User{Email: "removed@example.com", Name: "Removed"}
			if err := a.Identity().CreateUser(ctx, u, "hash", now); err != nil {
				t.Fatal(err)
			}
			if err := a.Identity().SetMembership(ctx, &qm.Membership{TenantID: tn.ID, UserID: u.ID, Role: "viewer"}, now); err != nil {
				t.Fatal(err)
			}
			return func() (bool, error) {
					_, err := b.Identity().Membership(ctx, tn.ID, u.ID)
					if qm.ErrorCode(err) == qm.ENotFound {
						return false, nil
					}
					return err == nil, err
				}, func() error {
					return a.Identity().RemoveMembership(ctx, tn.ID, u.ID)
				}
		}},
		{"PlanSet", func(t *testing.T) (func() (bool, error), func() error) {
			return maxAssetsIs(0), func() error {
				_, err := plans.SetTenantPlan(ctx, tn.Slug, "team")
				return err
			}
		}},
		{"PlanChanged", func(t *testing.T) (func() (bool, error), func() error) {
			return maxAssetsIs(5), func() error {
				_, err := plans.UpdatePlan(ctx, "team", maxAssets("7"), nil)
				return err
			}
		}},
		{"OverrideChanged", func(t *testing.T) (func() (bool, error), func() error) {
			return maxAssetsIs(7), func() error {
				_, err := plans.SetTenantOverrides(ctx, tn.Slug, maxAssets("9"), nil)
				return err
			}
		}},
		{"DeviceRotated", func(t *testing.T) (func() (bool, error), func() error) {
			d, token := device("rotated-1")
			return deviceHonoured(token), func() error {
				_, err := a.Devices().RotateToken(ctx, d.ID)
				return err
			}
		}},
		{"DeviceMoved", func(t *testing.T) (func() (bool, error), func() error) {
			d, token := device("moved-1")
			return deviceHonoured(token), func() error {
				_, _, err := a.Devices().AssignDevice(ctx, d.ID, other)
				return err
			}
		}},
		{"DeviceUnassigned", func(t *testing.T) (func() (bool, error), func() error) {
			d, token := device("unassigned-1")
			return deviceHonoured(token), func() error {
				_, err := a.Devices().UnassignDevice(ctx, d.ID)
				return err
			}
		}},
		// Last: a suspended tenant takes no more changes of its limits.
		{"TenantSuspended", func(t *testing.T) (func() (bool, error), func() error) {
			return func() (bool, error) {
					got, err := b.Tenants().Tenant(ctx, tn.Slug)
					return err == nil && got.State == qm.StateActive, err
				}, func() error {
					_, err := a.Tenants().SetState(ctx, tn.Slug, qm.StateSuspended)
					return err
				}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			honoured, change := c.setup(t)
			// B caches what it honours now.
			if ok, err := honoured(); err != nil || !ok {
				t.Fatalf("node B before the change: honoured %v, %v; want true", ok, err)
			}
			if err := change(); err != nil {
				t.Fatal(err)
			}
			poll.Until(t, "node B stops honouring what node A changed", func() (bool, error) {
				ok, err := honoured()
				return !ok, err
			})
		})
	}
	// B's broker cuts off a device connected to it that A moved.
	poll.Until(t, "node B's device observers hear of the move on node A", func() (bool, error) {
		return heard.has("moved-1", qm.DeviceTransferred), nil
	})
	// B's broker passes on to a device connected to it the settings its
	// tenant changed on A (an engine one node serves has no B to tell).
	// tn is suspended by now: other changes them.
	if a.Tenants().Shared() {
		d := mustAssignedDevice(t, a, other, "settings-1")
		fleet := telemetry.NewFleetStore(a, a.Devices(), time.Now)
		if _, err := fleet.UpdateDevice(tenancy.WithTenant(ctx, other), d.ID, qm.FleetDeviceUpdate{Settings: &map[string]any{"interval_s": 15}}); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "node B's device observers hear of the settings changed on node A", func() (bool, error) {
			return heard.hasSettings(other.ID, d.ID), nil
		})
	}
}
