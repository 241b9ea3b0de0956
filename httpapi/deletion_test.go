package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// TestDeleteTenantAPI: the operator deletes a tenant only with its slug
// typed again; at once its members, tokens and devices are refused, its
// neighbour served; restored, all three work again; purged (confirmed
// again), it leaves a verified tombstone and its slug free.
func TestDeleteTenantAPI(t *testing.T) {
	f := newFixture(t, backends[0])
	a, b := f.a, f.b
	base := "/api/v1/operator/tenants/" + a.t.Slug
	assets := tenantPath("/assets")
	point := func() string {
		return fmt.Sprintf(`[{"time":"%s","lat":52.5,"lon":13.4}]`, time.Now().UTC().Format(time.RFC3339Nano))
	}
	// served checks whether A's member, token and device are served, and
	// that B's member is.
	served := func(want bool) {
		t.Helper()
		for _, who := range []principal{a.admin, a.adminToken} {
			if res := f.do(t, who, "GET", assets(a), ""); (res.Code == http.StatusOK) != want {
				t.Fatalf("GET assets as %s: %d %s, want served %v", who.name, res.Code, res.Body, want)
			}
		}
		if res := f.do(t, a.deviceToken, "POST", "/ingest/v1/points", point()); (res.Code == http.StatusOK) != want {
			t.Fatalf("the device's point: %d %s, want taken %v", res.Code, res.Body, want)
		}
		mustStatus(t, f.do(t, b.admin, "GET", assets(b), ""), http.StatusOK, "the neighbour's assets")
	}
	served(true)

	for _, body := range []string{`{}`, `{"confirm":"tenant-b"}`, `{"confirm":"` + a.t.Slug + `","grace_hours":-1}`} {
		res := f.do(t, f.operator, "DELETE", base, body)
		if res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("DELETE %s: %d %s, want 422", body, res.Code, res.Body)
		}
	}
	served(true)
	res := f.do(t, f.operator, "DELETE", base, `{"confirm":"`+a.t.Slug+`","grace_hours":24}`)
	mustStatus(t, res, http.StatusOK, "delete")
	var tn qm.Tenant
	json.Unmarshal(res.Body.Bytes(), &tn)
	if tn.State != qm.StateDeleting || tn.DeleteAfter == nil || time.Until(*tn.DeleteAfter) < 23*time.Hour {
		t.Fatalf("deleted: %+v; want deleting for a day", tn)
	}
	served(false)
	mustStatus(t, f.do(t, f.operator, "POST", base+"/resume", ""), http.StatusConflict, "resume a tenant deleting")

	res = f.do(t, f.operator, "POST", base+"/restore", "")
	mustStatus(t, res, http.StatusOK, "restore")
	if !strings.Contains(res.Body.String(), `"devices_held_elsewhere":[]`) {
		t.Fatalf("restore: %s", res.Body)
	}
	served(true)

	mustStatus(t, f.do(t, f.operator, "DELETE", base, `{"confirm":"`+a.t.Slug+`"}`), http.StatusOK, "delete again")
	mustStatus(t, f.do(t, f.operator, "POST", base+"/purge", `{"confirm":"x"}`), http.StatusUnprocessableEntity, "purge unconfirmed")
	res = f.do(t, f.operator, "POST", base+"/purge", `{"confirm":"`+a.t.Slug+`"}`)
	mustStatus(t, res, http.StatusOK, "purge")
	var stone qm.Tombstone
	json.Unmarshal(res.Body.Bytes(), &stone)
	if !stone.Verified || stone.TenantID != a.t.ID || stone.DeletedBy == "" {
		t.Fatalf("tombstone %s", res.Body)
	}
	mustStatus(t, f.do(t, f.operator, "GET", base, ""), http.StatusNotFound, "the purged tenant")
	mustStatus(t, f.do(t, a.admin, "GET", assets(a), ""), http.StatusNotFound, "the purged tenant's assets")
	res = f.do(t, f.operator, "GET", "/api/v1/operator/tombstones", "")
	if !strings.Contains(res.Body.String(), a.t.ID) {
		t.Fatalf("tombstones: %s", res.Body)
	}
	mustStatus(t, f.do(t, f.operator, "POST", "/api/v1/operator/tenants", `{"slug":"`+a.t.Slug+`","name":"Again","tier":"pool"}`), http.StatusCreated, "the slug again")
	mustStatus(t, f.do(t, b.admin, "GET", assets(b), ""), http.StatusOK, "the neighbour, after")
}

// TestMovingTenant: while a tenant's data is copied it is served; while
// its writes pause for the last pass, its members, tokens and devices are
// answered 503 with Retry-After, to come back; its neighbour is served;
// once the move ends, so is it.
func TestMovingTenant(t *testing.T) {
	f := newFixture(t, backends[0])
	a, b := f.a, f.b
	from, to, err := f.e.Tenants().BeginMove(context.Background(), a.t.Slug, qm.TierSilo, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/assets")(a), ""), http.StatusOK, "while its data is copied")
	if err := f.e.Tenants().PauseMove(context.Background(), from, "test"); err != nil {
		t.Fatal(err)
	}
	point := fmt.Sprintf(`[{"time":"%s","lat":52.5,"lon":13.4}]`, time.Now().UTC().Format(time.RFC3339Nano))
	for _, call := range []struct {
		who          principal
		method, path string
		body         string
	}{{a.admin, "GET", tenantPath("/assets")(a), ""}, {a.adminToken, "GET", tenantPath("/assets")(a), ""}, {a.deviceToken, "POST", "/ingest/v1/points", point}} {
		res := f.do(t, call.who, call.method, call.path, call.body)
		if res.Code != http.StatusServiceUnavailable || res.Header().Get("Retry-After") == "" {
			t.Fatalf("%s %s as %s while paused: %d %v %s, want 503 with Retry-After", call.method, call.path, call.who.name, res.Code, res.Header(), res.Body)
		}
	}
	mustStatus(t, f.do(t, b.admin, "GET", tenantPath("/assets")(b), ""), http.StatusOK, "the neighbour")
	if err := f.e.Tenants().AbortMove(context.Background(), from, to); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, f.do(t, a.admin, "GET", tenantPath("/assets")(a), ""), http.StatusOK, "after the move ends")
}
