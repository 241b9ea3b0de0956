package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// TestPeople: the member directory names the tenant's people to anyone who
// reads its assets, with their name, email and whether they are disabled,
// and nothing a manager of people alone may see (role, department); it
// holds no one of another tenant.
func TestPeople(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			a, b := f.a, f.b
			tess := &qm.User{Email: "tess@" + a.t.Slug + ".example", Name: "Tess Holder"}
			if err := f.e.Identity().CreateUser(context.Background(), tess, "", time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := f.e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: a.t.ID, UserID: tess.ID, Role: "technician", DepartmentID: a.department.ID}, time.Now()); err != nil {
				t.Fatal(err)
			}
			confined, _ := f.confinedAdmin(t, a)

			read := func(t *testing.T, who principal, query string) []map[string]any {
				t.Helper()
				res := f.do(t, who, "GET", tenantPath("/people"+query)(a), "")
				if res.Code != http.StatusOK {
					t.Fatalf("GET /people%s as %s: got %d %s, want 200", query, who.name, res.Code, res.Body)
				}
				if strings.Contains(res.Body.String(), b.t.Slug) {
					t.Errorf("GET /people%s as %s: got %s, naming someone of %s", query, who.name, res.Body, b.t.Slug)
				}
				var body struct {
					People []map[string]any `json:"people"`
				}
				if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				return body.People
			}

			t.Run("NamesAndNothingMore", func(t *testing.T) {
				people := read(t, a.viewer, "")
				i := slices.IndexFunc(people, func(p map[string]any) bool { return p["user_id"] == tess.ID })
				if i < 0 {
					t.Fatalf("got %v, want %s among them", people, tess.Email)
				}
				got, _ := json.Marshal(people[i])
				want, _ := json.Marshal(map[string]any{"user_id": tess.ID, "name": "Tess Holder", "email": tess.Email, "disabled": false})
				if string(got) != string(want) {
					t.Errorf("got %s, want %s", got, want)
				}
				for _, p := range people {
					for _, k := range []string{"role", "department_id", "created_at", "last_login_at"} {
						if _, ok := p[k]; ok {
							t.Errorf("got %v, holding %s", p, k)
						}
					}
				}
			})
			t.Run("Search", func(t *testing.T) {
				for _, q := range []string{"?q=tess%20HOLDER", "?q=TESS@"} {
					if people := read(t, a.viewer, q); len(people) != 1 || people[0]["user_id"] != tess.ID {
						t.Errorf("GET /people%s: got %v, want only %s", q, people, tess.Email)
					}
				}
				if people := read(t, a.viewer, "?q=nobody-is-called-this"); len(people) != 0 {
					t.Errorf("got %v, want no one", people)
				}
			})
			t.Run("ConfinedReadsEveryone", func(t *testing.T) {
				people := read(t, confined, "")
				if !slices.ContainsFunc(people, func(p map[string]any) bool { return p["email"] == "admin@"+a.t.Slug+".example" }) {
					t.Errorf("got %v, want the whole tenant's people, its admin among them", people)
				}
			})
			t.Run("NeedsAssetsRead", func(t *testing.T) {
				_, auditor := f.mustMember(t, a, "auditor@"+a.t.Slug+".example", "auditor")
				if res := f.do(t, auditor, "GET", tenantPath("/people")(a), ""); res.Code != http.StatusForbidden {
					t.Errorf("GET /people as an auditor: got %d %s, want 403", res.Code, res.Body)
				}
			})
		})
	}
}
