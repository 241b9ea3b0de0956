package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// wantFields fails the test unless err is an application error with the
// code and a message for each of the fields named.
func wantFields(t *testing.T, err error, code string, fields ...string) {
	t.Helper()
	wantCode(t, err, code)
	var e *qm.Error
	errors.As(err, &e)
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Errorf("got field errors %v, want one for %s", e.Fields, f)
		}
	}
}

// TestCustomFields checks qm.FieldService and the custom field values of
// assets: validation on every write, uniqueness, filters, and a
// different-tenant case for each method.
func TestCustomFields(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "field-a")
	_, ctxB := MustTenant(t, e, h.Tier, "field-b")
	a, b := mustAssetWorld(t, e, ctxA), mustAssetWorld(t, e, ctxB)
	s := dataplane.NewFieldStore(e, clock())
	assets := dataplane.NewAssetStore(e, e.Identity(), clock())
	mustField := func(ctx context.Context, f *qm.CustomField) *qm.CustomField {
		t.Helper()
		if err := s.CreateField(ctx, f); err != nil {
			t.Fatalf("create field %+v: %v", f, err)
		}
		return f
	}
	mac := mustField(ctxA, &qm.CustomField{Name: "MAC address", Type: qm.FieldText, Pattern: `([0-9A-F]{2}:){5}[0-9A-F]{2}`})
	ram := mustField(ctxA, &qm.CustomField{Name: "RAM (GB)", Type: qm.FieldNumber, Required: true})
	encrypted := mustField(ctxA, &qm.CustomField{Name: "Encrypted", Type: qm.FieldBoolean})
	osField := mustField(ctxA, &qm.CustomField{Name: "OS", Type: qm.FieldChoice, Choices: []string{"Windows", "macOS", "Linux"}})
	ports := mustField(ctxA, &qm.CustomField{Name: "Ports", Type: qm.FieldMultiChoice, Choices: []string{"USB-C", "HDMI", "Ethernet"}})
	barcode := mustField(ctxA, &qm.CustomField{Key: "barcode", Name: "Inventory barcode", Type: qm.FieldText, Unique: true})
	audited := mustField(ctxA, &qm.CustomField{Name: "Last audit", Type: qm.FieldDate})
	if mac.Key != "mac_address" || ram.Key != "ram_gb" || barcode.Key != "barcode" {
		t.Fatalf("got keys %q, %q, %q; want mac_address, ram_gb, barcode", mac.Key, ram.Key, barcode.Key)
	}

	t.Run("ErrInvalidDefinition", func(t *testing.T) {
		for _, f := range []*qm.CustomField{
			{Name: "Colour", Type: "colour"},
			{Name: "Size", Type: qm.FieldText, Choices: []string{"S"}},
			{Name: "Tier", Type: qm.FieldChoice},
			{Name: "Code", Type: qm.FieldText, Pattern: "(["},
			{Name: "Flag", Type: qm.FieldBoolean, Unique: true},
			{Name: "Pick", Type: qm.FieldChoice, Choices: []string{"a", "A"}},
			{Name: "Bad key", Key: "Bad Key", Type: qm.FieldText},
		} {
			wantCode(t, s.CreateField(ctxA, f), qm.EInvalid)
		}
		wantCode(t, s.CreateField(ctxA, &qm.CustomField{Name: "mac address", Key: "mac_address", Type: qm.FieldText}), qm.EConflict)
	})

	laptop := &qm.FieldSet{Name: "Laptop", FieldIDs: []string{mac.ID, ram.ID, encrypted.ID, osField.ID, ports.ID, barcode.ID}}
	if err := s.CreateFieldSet(ctxA, laptop); err != nil {
		t.Fatal(err)
	}
	audit := &qm.FieldSet{Name: "Audit", FieldIDs: []string{audited.ID}, CategoryIDs: []string{a.category.ID}}
	if err := s.CreateFieldSet(ctxA, audit); err != nil {
		t.Fatal(err)
	}
	models := dataplane.NewModelStore(e, clock())
	if _, err := models.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{FieldSetID: ptr(laptop.ID)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FieldSet(ctxA, laptop.ID); err != nil || !reflect.DeepEqual(got.FieldIDs, laptop.FieldIDs) {
		t.Fatalf("got set %+v, %v; want fields in order %v", got, err, laptop.FieldIDs)
	}

	var first *qm.Asset
	t.Run("Values", func(t *testing.T) {
		first = &qm.Asset{ModelID: a.model.ID, Fields: map[string]any{
			"mac_address": "00:1A:2B:3C:4D:5E", "ram_gb": 16.0, "encrypted": "yes", "os": "linux",
			"ports": []any{"hdmi", "USB-C"}, "barcode": "B-1", "last_audit": "2026-01-31"}}
		if err := assets.CreateAsset(ctxA, first); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"mac_address": "00:1A:2B:3C:4D:5E", "ram_gb": 16.0, "encrypted": true, "os": "Linux",
			"ports": []string{"USB-C", "HDMI"}, "barcode": "B-1", "last_audit": "2026-01-31"}
		got, err := assets.Asset(ctxA, first.ID)
		if err != nil || !reflect.DeepEqual(got.Fields, want) {
			t.Fatalf("got fields %#v, %v; want %#v", got.Fields, err, want)
		}
		page, err := assets.Assets(ctxA, qm.AssetFilter{})
		if err != nil || len(page.Assets) != 1 || !reflect.DeepEqual(page.Assets[0].Fields, want) {
			t.Fatalf("list: %+v, %v", page, err)
		}
	})
	t.Run("ErrInvalidValues", func(t *testing.T) {
		err := assets.CreateAsset(ctxA, &qm.Asset{ModelID: a.model.ID, Fields: map[string]any{
			"mac_address": "not a mac", "ram_gb": "lots", "os": "BeOS", "ports": "VGA", "last_audit": "31/01/2026", "colour": "red"}})
		wantFields(t, err, qm.EInvalid, "fields.mac_address", "fields.ram_gb", "fields.os", "fields.ports", "fields.last_audit", "fields.colour")
		err = assets.CreateAsset(ctxA, &qm.Asset{ModelID: a.model.ID})
		wantFields(t, err, qm.EInvalid, "fields.ram_gb")
		err = assets.CreateAsset(ctxA, &qm.Asset{ModelID: a.model.ID, Fields: map[string]any{"ram_gb": 8, "barcode": "B-1"}})
		wantFields(t, err, qm.EConflict, "fields.barcode")
		_, err = assets.UpdateAsset(ctxA, first.ID, qm.AssetUpdate{Fields: map[string]any{"ram_gb": nil}})
		wantFields(t, err, qm.EInvalid, "fields.ram_gb")
		if got, _ := assets.Asset(ctxA, first.ID); got.Fields["ram_gb"] != 16.0 {
			t.Fatalf("a refused update changed the value: %v", got.Fields)
		}
	})
	t.Run("Update", func(t *testing.T) {
		got, err := assets.UpdateAsset(ctxA, first.ID, qm.AssetUpdate{Fields: map[string]any{"ram_gb": "32", "mac_address": nil}})
		if err != nil || got.Fields["ram_gb"] != 32.0 || got.Fields["mac_address"] != nil || got.Fields["os"] != "Linux" {
			t.Fatalf("update: %+v, %v", got, err)
		}
		second := &qm.Asset{ModelID: a.model.ID, Fields: map[string]any{"ram_gb": 8, "barcode": "B-2", "os": "Windows", "encrypted": false}}
		if err := assets.CreateAsset(ctxA, second); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			filter map[string]string
			want   int
		}{
			{map[string]string{"os": "linux"}, 1},
			{map[string]string{"ports": "HDMI"}, 1},
			{map[string]string{"ports": "ethernet"}, 0},
			{map[string]string{"ram_gb": "8.0"}, 1},
			{map[string]string{"encrypted": "no"}, 1},
			{map[string]string{"encrypted": "true", "os": "Windows"}, 0},
		} {
			page, err := assets.Assets(ctxA, qm.AssetFilter{Fields: c.filter})
			if err != nil || page.Total != c.want {
				t.Errorf("filter %v: got %+v, %v; want %d", c.filter, page, err, c.want)
			}
		}
		_, err = assets.Assets(ctxA, qm.AssetFilter{Fields: map[string]string{"colour": "red"}})
		wantCode(t, err, qm.EBadRequest)
		_, err = assets.Assets(ctxA, qm.AssetFilter{Fields: map[string]string{"ram_gb": "lots"}})
		wantCode(t, err, qm.EBadRequest)
		_, err = assets.UpdateAsset(ctxA, second.ID, qm.AssetUpdate{Fields: map[string]any{"os": "Linux"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateField(ctxA, osField.ID, qm.CustomFieldUpdate{Unique: ptr(true)})
		wantCode(t, err, qm.EConflict) // both assets run Linux now
	})

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Field(ctxB, mac.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateField(ctxB, mac.ID, qm.CustomFieldUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteField(ctxB, mac.ID), qm.ENotFound)
		_, err = s.FieldSet(ctxB, laptop.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateFieldSet(ctxB, laptop.ID, qm.FieldSetUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteFieldSet(ctxB, laptop.ID), qm.ENotFound)
		if fs, err := s.Fields(ctxB); err != nil || len(fs) != 0 {
			t.Fatalf("B lists fields %v, %v", fs, err)
		}
		if sets, err := s.FieldSets(ctxB); err != nil || len(sets) != 0 {
			t.Fatalf("B lists sets %v, %v", sets, err)
		}
		wantCode(t, s.CreateFieldSet(ctxB, &qm.FieldSet{Name: "Stolen", FieldIDs: []string{mac.ID}}), qm.EInvalid)
		_, err = models.UpdateModel(ctxB, b.model.ID, qm.ModelUpdate{FieldSetID: ptr(laptop.ID)})
		wantCode(t, err, qm.EInvalid)
		// B's assets know nothing of A's fields; B may use the same key.
		err = assets.CreateAsset(ctxB, &qm.Asset{ModelID: b.model.ID, Fields: map[string]any{"barcode": "B-1"}})
		wantFields(t, err, qm.EInvalid, "fields.barcode")
		_, err = assets.Assets(ctxB, qm.AssetFilter{Fields: map[string]string{"barcode": "B-1"}})
		wantCode(t, err, qm.EBadRequest)
		bBarcode := mustField(ctxB, &qm.CustomField{Key: "barcode", Name: "Inventory barcode", Type: qm.FieldText, Unique: true})
		bSet := &qm.FieldSet{Name: "Laptop", FieldIDs: []string{bBarcode.ID}, CategoryIDs: []string{b.category.ID}}
		if err := s.CreateFieldSet(ctxB, bSet); err != nil {
			t.Fatal(err)
		}
		// The same unique value in another tenant is no conflict.
		if err := assets.CreateAsset(ctxB, &qm.Asset{ModelID: b.model.ID, Fields: map[string]any{"barcode": "B-1"}}); err != nil {
			t.Fatal(err)
		}
		if page, err := assets.Assets(ctxA, qm.AssetFilter{Fields: map[string]string{"barcode": "B-1"}}); err != nil || page.Total != 1 {
			t.Fatalf("A's filter: %+v, %v", page, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		wantCode(t, s.DeleteFieldSet(ctxA, laptop.ID), qm.EConflict) // the model names it
		if err := s.DeleteField(ctxA, ports.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.FieldSet(ctxA, laptop.ID)
		if err != nil || len(got.FieldIDs) != 5 {
			t.Fatalf("set after deleting a field: %+v, %v", got, err)
		}
		if a, _ := assets.Asset(ctxA, first.ID); a.Fields["ports"] != nil {
			t.Fatalf("a deleted field's value is still shown: %v", a.Fields)
		}
		if err := s.DeleteFieldSet(ctxA, audit.ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := assets.Asset(ctxA, first.ID); a.Fields["last_audit"] != "2026-01-31" {
			t.Fatalf("a value of a field no longer in a set was lost: %v", a.Fields)
		}
	})
}
