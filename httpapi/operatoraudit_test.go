package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/quartermaster/qm"
)

// TestOperatorAuditAPI: what the operator does to a tenant through the
// API is in the operator's audit log, by the operator, from where the
// request came, and stays there once the tenant is purged; the log reads
// by tenant and action, in pages; a tenant's people may not read it.
func TestOperatorAuditAPI(t *testing.T) {
	f := newFixture(t, backends[0])
	a := f.a
	base := "/api/v1/operator/tenants/" + a.t.Slug
	mustStatus(t, f.do(t, f.operator, "POST", base+"/suspend", ""), http.StatusOK, "suspend")
	mustStatus(t, f.do(t, f.operator, "POST", base+"/resume", ""), http.StatusOK, "resume")
	mustStatus(t, f.do(t, f.operator, "DELETE", base, `{"confirm":"`+a.t.Slug+`"}`), http.StatusOK, "delete")
	mustStatus(t, f.do(t, f.operator, "POST", base+"/purge", `{"confirm":"`+a.t.Slug+`"}`), http.StatusOK, "purge")

	read := func(query string) operatorAuditReply {
		t.Helper()
		res := f.do(t, f.operator, "GET", "/api/v1/operator/audit"+query, "")
		mustStatus(t, res, http.StatusOK, "the operator's audit log"+query)
		var page operatorAuditReply
		if err := json.Unmarshal(res.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		return page
	}
	page := read("?tenant=" + a.t.Slug)
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action)
	}
	// Newest first: what the requests did, after the fixture's setting up.
	want := []string{"tenant.purge", "tenant.delete", "tenant.resume", "tenant.suspend"}
	if len(actions) < len(want) || page.Total != len(actions) {
		t.Fatalf("entries of %s: %v (total %d), want %v first", a.t.Slug, actions, page.Total, want)
	}
	for i, action := range want {
		e := page.Entries[i]
		if e.Action != action {
			t.Fatalf("entries of %s: %v, want %v first", a.t.Slug, actions, want)
		}
		if e.TenantID != a.t.ID || e.ActorName != "operator@example.com" || e.ActorKind != qm.PrincipalOperator || e.RemoteAddr == "" {
			t.Errorf("entry %+v: want tenant %s, by the operator, from an address", e, a.t.ID)
		}
	}
	if removed, _ := page.Entries[0].Details["removed"].(map[string]any); len(removed) == 0 || page.Entries[0].Details["verified"] != true {
		t.Errorf("the purge's entry: %+v, want what its tombstone says: rows removed, verified", page.Entries[0].Details)
	}

	purges := read("?action=tenant.purge")
	if purges.Total != 1 || len(purges.Entries) != 1 || purges.Entries[0].TenantSlug != a.t.Slug {
		t.Errorf("purges: %+v, want %s's only", purges, a.t.Slug)
	}
	first := read("?tenant=" + a.t.Slug + "&limit=1")
	if len(first.Entries) != 1 || first.Next == "" || first.Total != page.Total {
		t.Fatalf("a page of one: %+v", first)
	}
	second := read("?tenant=" + a.t.Slug + "&limit=1&after=" + first.Next)
	if len(second.Entries) != 1 || second.Entries[0].ID != page.Entries[1].ID {
		t.Errorf("the second page of one: %+v, want %s", second, page.Entries[1].ID)
	}
	mustStatus(t, f.do(t, f.operator, "GET", "/api/v1/operator/audit?after=nonsense", ""), http.StatusBadRequest, "a cursor never given")
	mustStatus(t, f.do(t, f.b.admin, "GET", "/api/v1/operator/audit", ""), http.StatusForbidden, "a tenant's admin")
}

// operatorAuditReply is a page of GET /api/v1/operator/audit.
type operatorAuditReply struct {
	Entries []qm.OperatorAuditEntry `json:"entries"`
	Total   int                     `json:"total"`
	Next    string                  `json:"next"`
}
