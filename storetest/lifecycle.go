package storetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// Filled is what MustFillTenant made, to look for after an import.
type Filled struct {
	Tenant *qm.Tenant
	Device *qm.Device
	// ModelID is the model of its assets.
	ModelID string
	// Secrets are credentials the tenant's data was made with, which no
	// archive may hold.
	Secrets []string
}

// MustFillTenant creates a tenant of the tier holding some of everything:
// locations and departments with parents, assets with custom field values,
// a license with seats, a maintenance, a member with a custom role, an
// open invitation, a device with points, a rule with an alarm sent to a
// webhook channel, and so an audit log.
func MustFillTenant(t *testing.T, e Engine, tier qm.Tier, slug string) Filled {
	t.Helper()
	tn, ctx := MustTenant(t, e, tier, slug)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := clock()
	locs := dataplane.NewLocationStore(e, now)
	hq := &qm.Location{Name: "HQ", Address: "1 Main St"}
	must(locs.CreateLocation(ctx, hq))
	floor := &qm.Location{Name: "Floor 1", ParentID: hq.ID}
	must(locs.CreateLocation(ctx, floor))
	depts := dataplane.NewDepartmentStore(e, now)
	ops := &qm.Department{Name: "Operations"}
	must(depts.CreateDepartment(ctx, ops))
	fleetDept := &qm.Department{Name: "Fleet", ParentID: ops.ID}
	must(depts.CreateDepartment(ctx, fleetDept))
	// A parent made after its child: the export's order (by id) puts the
	// child first.
	top := &qm.Department{Name: "Group"}
	must(depts.CreateDepartment(ctx, top))
	if _, err := depts.UpdateDepartment(ctx, ops.ID, qm.DepartmentUpdate{ParentID: &top.ID}); err != nil {
		t.Fatal(err)
	}

	cat := &qm.Reference{Name: "Laptops"}
	must(dataplane.NewReferenceStore(qm.Categories, e, now).Create(ctx, cat))
	fields := dataplane.NewFieldStore(e, now)
	ram := &qm.CustomField{Name: "RAM (GB)", Type: qm.FieldNumber}
	must(fields.CreateField(ctx, ram))
	enc := &qm.CustomField{Name: "Encrypted", Type: qm.FieldBoolean}
	must(fields.CreateField(ctx, enc))
	set := &qm.FieldSet{Name: "Laptop", FieldIDs: []string{ram.ID, enc.ID}, CategoryIDs: []string{cat.ID}}
	must(fields.CreateFieldSet(ctx, set))
	model := &qm.Model{Name: "Latitude 5440", CategoryID: cat.ID}
	must(dataplane.NewModelStore(e, now).CreateModel(ctx, model))
	assets := dataplane.NewAssetStore(e, e.Identity(), now)
	var first *qm.Asset
	for i := range 5 {
		a := &qm.Asset{ModelID: model.ID, Name: "Laptop <" + string(rune('A'+i)) + ">", LocationID: floor.ID, DepartmentID: fleetDept.ID,
			PurchaseDate: "2024-01-31", WarrantyMonths: ptr(12), Fields: map[string]any{"ram_gb": 16 + i, "encrypted": i%2 == 0}}
		must(assets.CreateAsset(ctx, a))
		if first == nil {
			first = a
		}
	}
	userID := mustMember(t, e, tn, "member@"+slug+".example")
	must(e.Identity().CreateRole(context.Background(), tn.ID, qm.Role{Name: "auditor", Permissions: []qm.Permission{qm.PermAssetsRead}}, now()))
	if err := e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: tn.ID, UserID: userID, Role: "auditor", DepartmentID: ops.ID}, now()); err != nil {
		t.Fatal(err)
	}
	invites := dataplane.NewInvitationStore(e.Identity(), e, e.Tenants(), func(string) (string, error) { return "h", nil }, "", now)
	if _, err := invites.Invite(ctx, qm.NewInvitation{Email: "newcomer@" + slug + ".example", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	if _, err := assets.CheckOut(ctx, first.ID, qm.CheckOut{HolderType: qm.HolderUser, HolderID: userID, ExpectedReturn: "2030-01-01"}); err != nil {
		t.Fatal(err)
	}
	lic := dataplane.NewLicenseStore(e, e.Identity(), now)
	office := &qm.License{Name: "Office", Seats: 3, ExpiresOn: "2030-06-30", ProductKey: "XXXX-YYYY"}
	must(lic.CreateLicense(ctx, office))
	if _, err := lic.AssignSeat(ctx, office.ID, qm.HolderUser, userID); err != nil {
		t.Fatal(err)
	}
	if _, err := lic.AssignSeat(ctx, office.ID, qm.HolderAsset, first.ID); err != nil {
		t.Fatal(err)
	}
	must(dataplane.NewMaintenanceStore(e, now).AddMaintenance(ctx, first.ID, &qm.Maintenance{Kind: "repair", Title: "Screen", StartedOn: "2025-02-03", CostCents: ptr(int64(12000))}))

	d := &qm.Device{Ident: slug + "-van"}
	token, err := e.Devices().RegisterDevice(context.Background(), d)
	must(err)
	if _, _, err := e.Devices().AssignDevice(context.Background(), d.ID, tn); err != nil {
		t.Fatal(err)
	}
	channels := alerts.NewChannelStore(e, func(context.Context, string) error { return nil }, now)
	hook, secret, err := channels.CreateChannel(ctx, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelWebhook, Enabled: true, URL: "https://hooks.example.com/a"})
	must(err)
	fleet := telemetry.NewFleetStore(e, e.Devices(), time.Now)
	mustRule(t, alerts.NewRuleStore(e, fleet, func() time.Time { return time.Now().Add(-2 * time.Hour) }), ctx,
		qm.RuleDefinition{Name: "Flat", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true, ChannelIDs: []string{hook.ID}})
	pw := telemetry.NewPointWriter(e, time.Now, 0)
	defer pw.Close()
	if _, err := pw.Write(ctx, d.ID, track(time.Now().Add(-time.Hour), 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(ctx, d.ID, []qm.Point{{Time: time.Now().Add(-time.Minute), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(5)}}}); err != nil {
		t.Fatal(err)
	}
	if evs, err := alerts.NewAlarmStore(e, time.Now).EvaluateDevice(ctx, d.ID); err != nil || len(evs) != 1 {
		t.Fatalf("%s's alarm: %+v, %v", slug, evs, err)
	}
	return Filled{Tenant: tn, Device: d, ModelID: model.ID, Secrets: []string{token, secret}}
}

// MustExport exports the tenant with the slug, and returns the archive and
// its manifest.
func MustExport(t testing.TB, e Engine, slug string) ([]byte, *lifecycle.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := lifecycle.Export(context.Background(), e, slug, &buf, lifecycle.ExportOptions{})
	if err != nil {
		t.Fatalf("export %s: %v", slug, err)
	}
	return buf.Bytes(), m
}

// SameTables fails unless two manifests list the same tables with the
// same rows and hashes, and b's rows are what they were: every table has
// some, but those a tenant may lack.
func SameTables(t testing.TB, a, b *lifecycle.Manifest) {
	t.Helper()
	var tables int
	for _, fa := range a.Files {
		if fa.Table == "" {
			continue
		}
		tables++
		fb := b.File(fa.Name)
		if fb == nil || fb.Rows != fa.Rows || fb.SHA256 != fa.SHA256 || fb.Bytes != fa.Bytes {
			t.Errorf("%s: got %+v, want %+v", fa.Name, fb, fa)
		}
	}
	if tables == 0 {
		t.Fatal("the manifest lists no tables")
	}
}

// mustServeSameAssets fails unless both tenants list the same assets,
// field values and all, and find the same ones by text search: the copy's
// search index follows the rows it was given.
func mustServeSameAssets(t *testing.T, e Engine, a, b *qm.Tenant) {
	t.Helper()
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	list := func(tn *qm.Tenant) []*qm.Asset {
		page, err := s.Assets(tenancy.WithTenant(context.Background(), tn), qm.AssetFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Assets
	}
	got, want := list(b), list(a)
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%s serves %d assets, %s %d", b.Slug, len(got), a.Slug, len(want))
	}
	for _, q := range []string{"latitude 5440", "laptop <c>"} { // a model's name, an asset's
		found, wanted := mustTags(t, s, scoped(b), qm.AssetFilter{Q: q}), mustTags(t, s, scoped(a), qm.AssetFilter{Q: q})
		if !slices.Equal(found, wanted) || len(wanted) == 0 {
			t.Errorf("search %q: %s finds %v, %s %v", q, b.Slug, found, a.Slug, wanted)
		}
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Tag != w.Tag || g.Name != w.Name || g.PurchaseDate != w.PurchaseDate || g.Fields["ram_gb"] != w.Fields["ram_gb"] ||
			g.Fields["encrypted"] != w.Fields["encrypted"] || !g.CreatedAt.Equal(w.CreatedAt) || g.HolderID != w.HolderID {
			t.Fatalf("asset %d: got %+v, want %+v", i, g, w)
		}
	}
}

// TestExportImport checks a tenant's round trip: exported, imported under
// a new slug into the harness's tier, and exported again, every table
// holds the same rows, byte for byte; the copy serves the same assets and
// people; the archive holds no secret; the source is untouched.
func TestExportImport(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	src := MustFillTenant(t, e, h.Tier, "origin")
	archive, m1 := MustExport(t, e, "origin")
	if m1.Format != lifecycle.FormatVersion || m1.SchemaVersion != e.LatestVersion() || m1.Slug != "origin" || m1.Tier != h.Tier {
		t.Fatalf("manifest %+v", m1)
	}
	for _, name := range []string{"tables/assets.jsonl", "tables/points.jsonl", "tables/locations.jsonl", "tables/license_seats.jsonl",
		"tables/asset_field_values.jsonl", "tables/alarms.jsonl", "tables/audit_log.jsonl", "tables/channels.jsonl", "catalog/members.jsonl"} {
		if f := m1.File(name); f == nil || f.Rows == 0 {
			t.Fatalf("%s: %+v; want rows", name, f)
		}
	}
	for _, s := range append(src.Secrets, "token_hash", "secret_hash", "password") {
		if bytes.Contains(archive, []byte(s)) {
			t.Fatalf("the archive holds %q", s)
		}
	}

	// Gzipped, as the CLI writes it for a .gz name.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(archive)
	zw.Close()
	copied, rep, err := lifecycle.Import(ctx, e, &gz, lifecycle.ImportOptions{Slug: "copy", Tier: h.Tier})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if copied.State != qm.StateActive || copied.ID == src.Tenant.ID || copied.Tier != h.Tier || copied.Name != src.Tenant.Name {
		t.Fatalf("imported %+v", copied)
	}
	if len(rep.Devices) != 1 || rep.Devices[0].Token != "" || !strings.Contains(rep.Devices[0].Skipped, "held by another tenant") {
		t.Fatalf("devices %+v; want the source's device skipped, held by it", rep.Devices)
	}
	if len(rep.Webhooks) != 1 || !strings.HasPrefix(rep.Webhooks[0].Secret, alerts.WebhookSecretPrefix) || slices.Contains(src.Secrets, rep.Webhooks[0].Secret) {
		t.Fatalf("webhooks %+v; want a new secret", rep.Webhooks)
	}
	if !slices.Equal(rep.Members, []string{"member@origin.example"}) || len(rep.Invited) != 1 || rep.Invited[0].Email != "newcomer@origin.example" {
		t.Fatalf("members %v, invited %+v", rep.Members, rep.Invited)
	}
	_, m2 := MustExport(t, e, "copy")
	SameTables(t, m1, m2)
	for _, name := range []string{"catalog/roles.jsonl", "catalog/members.jsonl", "catalog/invitations.jsonl"} {
		if f1, f2 := m1.File(name), m2.File(name); f1.SHA256 != f2.SHA256 {
			t.Errorf("%s: got %+v, want %+v", name, f2, f1)
		}
	}
	mustServeSameAssets(t, e, src.Tenant, copied)
	if m, err := e.Identity().Members(ctx, copied.ID); err != nil || len(m) != 1 || m[0].Role != "auditor" || m[0].DepartmentID == "" {
		t.Fatalf("the copy's members %+v, %v", m, err)
	}
	if d, err := e.Devices().Device(ctx, src.Device.ID); err != nil || d.TenantID != src.Tenant.ID {
		t.Fatalf("the source's device %+v, %v; want it still the source's", d, err)
	}
	_, m3 := MustExport(t, e, "origin")
	SameTables(t, m1, m3)

	// A third copy on a fresh server of the same engine: the device is
	// free there, so it is the copy's, with a new credential.
	other := MustOpenEmpty(t, h)
	copied, rep, err = lifecycle.Import(ctx, other, bytes.NewReader(archive), lifecycle.ImportOptions{Slug: "moved"})
	if err != nil {
		t.Fatalf("import elsewhere: %v", err)
	}
	if len(rep.Devices) != 1 || !strings.HasPrefix(rep.Devices[0].Token, qm.DeviceTokenPrefix) || len(rep.Invited) != 2 {
		t.Fatalf("elsewhere: devices %+v, invited %+v; want the device assigned and both people invited", rep.Devices, rep.Invited)
	}
	if d, err := other.Devices().Device(ctx, src.Device.Ident); err != nil || d.ID != src.Device.ID || d.TenantID != copied.ID {
		t.Fatalf("elsewhere, the device %+v, %v", d, err)
	}
	_, m4 := MustExport(t, other, "moved")
	SameTables(t, m1, m4)
}

// TestImportRefused checks that an archive altered after its export, or
// of a format or schema newer than the build knows, is refused with a
// message that says so, and leaves no tenant behind.
func TestImportRefused(t *testing.T, h Harness) {
	st := h.NewStorage(t)
	e, err := st.Open(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	MustFillTenant(t, e, h.Tier, "sound")
	archive, _ := MustExport(t, e, "sound")
	tenants, err := e.Tenants().Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	places := st.TenantPlaces(t)
	for _, c := range []struct {
		name string
		edit func(name string, body []byte) []byte
		want string
	}{
		{"Tampered", func(name string, body []byte) []byte {
			if name == "tables/models.jsonl" {
				return bytes.Replace(body, []byte("Latitude"), []byte("Lbtitude"), 1)
			}
			return body
		}, "tables/models.jsonl does not match its manifest"},
		{"RowDropped", func(name string, body []byte) []byte {
			if name == "tables/points.jsonl" {
				return body[bytes.IndexByte(body, '\n')+1:]
			}
			return body
		}, "tables/points.jsonl does not match its manifest"},
		{"NewerFormat", func(name string, body []byte) []byte {
			if name == "header.json" {
				return bytes.Replace(body, []byte(`"format":1`), []byte(`"format":2`), 1)
			}
			return body
		}, "format is version 2, newer than this build reads (1)"},
		{"NewerSchema", func(name string, body []byte) []byte {
			if name == "header.json" {
				return bytes.Replace(body, []byte(`"schema_version":`), []byte(`"schema_version":9`), 1)
			}
			return body
		}, "newer than this build knows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := lifecycle.Import(ctx, e, bytes.NewReader(rewrite(t, archive, c.edit)), lifecycle.ImportOptions{Slug: "broken", Tier: h.Tier})
			wantCode(t, err, qm.EInvalid)
			if msg := qm.ErrorMessage(err); !strings.Contains(msg, c.want) {
				t.Fatalf("got %q, want it to say %q", msg, c.want)
			}
			if _, err := e.Tenants().Tenant(ctx, "broken"); qm.ErrorCode(err) != qm.ENotFound {
				t.Fatalf("the refused tenant: %v; want none", err)
			}
			if after, err := e.Tenants().Tenants(ctx); err != nil || len(after) != len(tenants) {
				t.Fatalf("tenants after: %d, %v; want %d", len(after), err, len(tenants))
			}
			if after := st.TenantPlaces(t); !slices.Equal(after, places) {
				t.Fatalf("tenant places after: %v; want %v", after, places)
			}
		})
	}
	// The slug is free again: the sound archive imports under it.
	if _, _, err := lifecycle.Import(ctx, e, bytes.NewReader(archive), lifecycle.ImportOptions{Slug: "broken", Tier: h.Tier}); err != nil {
		t.Fatal(err)
	}
}

// rewrite copies a tar, each file's body passed through edit.
func rewrite(t *testing.T, archive []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(archive)), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		body = edit(h.Name, body)
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}
