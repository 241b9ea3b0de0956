package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestIdentityHostile tries, as an attacker would, to reach across tenants
// through the accounts they share, on every engine × tier: pre-creating an
// account another tenant will invite, learning which accounts exist,
// ending a person's sessions elsewhere, and acting on a role above one's
// own. It also walks invitations and password resets through their lives,
// and reads the member directory as those who may not manage people.
func TestIdentityHostile(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			t.Run("AccountPreCreation", func(t *testing.T) { testAccountPreCreation(t, f) })
			t.Run("Enumeration", func(t *testing.T) { testEnumeration(t, f) })
			t.Run("SessionsAcrossTenants", func(t *testing.T) { testSessionsAcrossTenants(t, f) })
			t.Run("LowerRoleRevocation", func(t *testing.T) { testLowerRoleRevocation(t, f) })
			t.Run("InvitationLifecycle", func(t *testing.T) { testInvitationLifecycle(t, f) })
			t.Run("AcceptAsTheAccount", func(t *testing.T) { testAcceptAsTheAccount(t, f) })
			t.Run("Me", func(t *testing.T) { testMe(t, f) })
			t.Run("ResetPassword", func(t *testing.T) { testResetPassword(t, f) })
			t.Run("CheckOutOnAccept", func(t *testing.T) { testCheckOutOnAccept(t, f) })
			t.Run("People", func(t *testing.T) { testPeople(t, f) })
		})
	}
}

// sessionOf is the session a reply set, as a principal.
func sessionOf(t testing.TB, name string, res *httptest.ResponseRecorder) principal {
	t.Helper()
	for _, c := range res.Result().Cookies() {
		if c.Name == "qm_session" && c.Value != "" {
			return principal{name: name, cookie: c.Value, csrf: between(res.Body.String(), `"csrf_token":"`, `"`)}
		}
	}
	t.Fatalf("%s: no session cookie in %d %s", name, res.Code, res.Body)
	return principal{}
}

// signIn is the status of a sign-in with the email and password, from an
// address of its own so that failures elsewhere do not throttle it.
func signIn(t testing.TB, f *fixture, email, pw, addr string) int {
	t.Helper()
	return f.do(t, principal{addr: addr}, "POST", "/api/v1/auth/login", `{"email":"`+email+`","password":"`+pw+`"}`).Code
}

func mustStatus(t testing.TB, res *httptest.ResponseRecorder, want int, what string) {
	t.Helper()
	if res.Code != want {
		t.Fatalf("%s: got %d %s, want %d", what, res.Code, res.Body, want)
	}
}

// testAccountPreCreation: tenant B "adds" ceo@newcorp with a password it
// chose; the operator later invites the same email as newcorp's admin. B's
// password must never sign in; only the link's holder sets one.
func testAccountPreCreation(t *testing.T, f *fixture) {
	const bPassword = "chosen by tenant b"
	res := f.do(t, f.b.admin, "POST", "/api/v1/t/tenant-b/members", `{"email":"ceo@newcorp.example","password":"`+bPassword+`","role":"viewer"}`)
	if res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), `"password":`) {
		t.Fatalf("B sets a password: got %d %s, want 422 naming password", res.Code, res.Body)
	}
	bInvite := f.do(t, f.b.admin, "POST", "/api/v1/t/tenant-b/members", `{"email":"ceo@newcorp.example","role":"viewer"}`)
	mustStatus(t, bInvite, http.StatusCreated, "B invites")
	mustStatus(t, f.do(t, f.operator, "POST", "/api/v1/operator/tenants", `{"slug":"newcorp","name":"NewCorp"}`), http.StatusCreated, "create newcorp")
	opInvite := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/newcorp/members", `{"email":"ceo@newcorp.example","role":"admin"}`)
	mustStatus(t, opInvite, http.StatusCreated, "operator invites newcorp's admin")
	if code := signIn(t, f, "ceo@newcorp.example", bPassword, "203.0.113.1"); code != http.StatusUnauthorized {
		t.Fatalf("B's password signs in before acceptance: got %d, want 401", code)
	}
	view := f.do(t, principal{}, "GET", "/api/v1/invitations/"+linkSecret(opInvite), "")
	mustStatus(t, view, http.StatusOK, "look at the invitation")
	if !strings.Contains(view.Body.String(), `"set_password":true`) || !strings.Contains(view.Body.String(), `"tenant_name":"NewCorp"`) {
		t.Fatalf("invitation view: %s", view.Body)
	}
	accepted := f.do(t, principal{}, "POST", "/api/v1/invitations/"+linkSecret(opInvite)+"/accept", `{"name":"CEO","password":"the ceo's own password"}`)
	mustStatus(t, accepted, http.StatusOK, "the CEO accepts")
	ceo := sessionOf(t, "ceo", accepted)
	mustStatus(t, f.do(t, ceo, "POST", "/api/v1/t/newcorp/locations", `{"name":"HQ"}`), http.StatusCreated, "the CEO acts as newcorp's admin")
	if code := signIn(t, f, "ceo@newcorp.example", bPassword, "203.0.113.1"); code != http.StatusUnauthorized {
		t.Fatalf("B's password signs in as newcorp's admin: got %d, want 401", code)
	}
	if code := signIn(t, f, "ceo@newcorp.example", "the ceo's own password", "203.0.113.2"); code != http.StatusOK {
		t.Fatalf("the CEO's own password: got %d, want 200", code)
	}
	// B holds the link of its own invitation, but cannot be the account.
	bLink := "/api/v1/invitations/" + linkSecret(bInvite) + "/accept"
	mustStatus(t, f.do(t, principal{}, "POST", bLink, `{"password":"`+bPassword+`"}`), http.StatusUnauthorized, "B accepts its invitation anonymously")
	mustStatus(t, f.do(t, f.b.admin, "POST", bLink, `{}`), http.StatusForbidden, "B accepts its invitation as itself")
	if code := signIn(t, f, "ceo@newcorp.example", bPassword, "203.0.113.1"); code != http.StatusUnauthorized {
		t.Fatalf("B's password after B's tries: got %d, want 401", code)
	}
}

// inviteShape is an invitation reply with what differs between any two
// invitations (ids, links, times, the email) blanked.
func inviteShape(t testing.TB, res *httptest.ResponseRecorder) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(res.Body.Bytes(), &m); err != nil {
		t.Fatalf("%d %s: %v", res.Code, res.Body, err)
	}
	for _, k := range []string{"id", "link", "created_at", "expires_at", "email"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("reply lacks %s: %s", k, res.Body)
		}
		m[k] = "…"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// testEnumeration: inviting an existing account, a member, and an unknown
// email answer alike.
func testEnumeration(t *testing.T, f *fixture) {
	a := f.a
	var shapes []string
	for _, email := range []string{"admin@tenant-b.example", "viewer@tenant-a.example", "operator@example.com", "nobody@nowhere.example"} {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"`+email+`","role":"viewer"}`)
		mustStatus(t, res, http.StatusCreated, "invite "+email)
		for _, leak := range []string{"user_id", `"name"`, "already"} {
			if strings.Contains(res.Body.String(), leak) {
				t.Errorf("invite %s: reply shows %s: %s", email, leak, res.Body)
			}
		}
		shapes = append(shapes, inviteShape(t, res))
		if email == "viewer@tenant-a.example" {
			// The member accepting later is told so; nothing changes.
			res := f.do(t, a.viewer, "POST", "/api/v1/invitations/"+linkSecret(res)+"/accept", `{}`)
			if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"already_member":true`) {
				t.Fatalf("a member accepts: got %d %s", res.Code, res.Body)
			}
		}
	}
	for i := range shapes {
		if shapes[i] != shapes[0] {
			t.Errorf("replies differ:\n%s\n%s", shapes[0], shapes[i])
		}
	}
}

// testSessionsAcrossTenants: what B does to its membership of a person who
// also works for A never touches the person's sessions or access in A.
func testSessionsAcrossTenants(t *testing.T, f *fixture) {
	a, b := f.a, f.b
	u, both := f.mustMember(t, a, "both@example.com", "viewer")
	f.mustJoin(t, b, u, "viewer")
	mustStatus(t, f.do(t, b.admin, "PATCH", "/api/v1/t/tenant-b/members/"+u.ID, `{"role":"technician"}`), http.StatusOK, "B changes the role")
	mustStatus(t, f.do(t, both, "GET", "/api/v1/t/tenant-a/locations", ""), http.StatusOK, "after B's role change, the session in A")
	mustStatus(t, f.do(t, both, "POST", "/api/v1/t/tenant-b/locations", `{"name":"Technician's"}`), http.StatusCreated, "the new role in B, same session")
	mustStatus(t, f.do(t, both, "POST", "/api/v1/t/tenant-a/locations", `{"name":"Still a viewer"}`), http.StatusForbidden, "the role in A, unchanged")
	mustStatus(t, f.do(t, b.admin, "DELETE", "/api/v1/t/tenant-b/members/"+u.ID, ""), http.StatusNoContent, "B removes the member")
	mustStatus(t, f.do(t, both, "GET", "/api/v1/t/tenant-b/locations", ""), http.StatusNotFound, "removed from B, B")
	mustStatus(t, f.do(t, both, "GET", "/api/v1/t/tenant-a/locations", ""), http.StatusOK, "removed from B, A")
	// Inviting the operator, or A's admin, changes nothing for them.
	for _, email := range []string{"operator@example.com", "admin@tenant-a.example"} {
		mustStatus(t, f.do(t, b.admin, "POST", "/api/v1/t/tenant-b/members", `{"email":"`+email+`","role":"viewer"}`), http.StatusCreated, "B invites "+email)
	}
	mustStatus(t, f.do(t, f.operator, "GET", "/api/v1/operator/tenants", ""), http.StatusOK, "the operator's session")
	mustStatus(t, f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/members", ""), http.StatusOK, "A's admin's session")
	mustStatus(t, f.do(t, a.admin, "GET", "/api/v1/t/tenant-b/locations", ""), http.StatusNotFound, "invited, not accepted")
}

// testLowerRoleRevocation: nobody revokes, changes or removes what holds a
// role above their own.
func testLowerRoleRevocation(t *testing.T, f *fixture) {
	a := f.a
	for _, role := range []string{`{"name":"keyholder","permissions":["tokens:manage"]}`, `{"name":"people","permissions":["users:manage"]}`} {
		mustStatus(t, f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/roles", role), http.StatusCreated, "create role")
	}
	_, keys := f.mustMember(t, a, "keyholder@example.com", "keyholder")
	_, people := f.mustMember(t, a, "people@example.com", "people")
	admin, _, err := f.e.Identity().UserByEmail(context.Background(), "admin@tenant-a.example")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]*httptest.ResponseRecorder{}
	for _, role := range []string{"admin", "viewer"} {
		tokens[role] = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/tokens", `{"name":"`+role+` key","role":"`+role+`"}`)
		mustStatus(t, tokens[role], http.StatusCreated, "create token")
	}
	adminInvite := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"second-admin@example.com","role":"admin"}`)
	mustStatus(t, adminInvite, http.StatusCreated, "invite an admin")
	before := f.snapshot(t, a)
	for _, tc := range []struct {
		who          principal
		method, path string
		body         string
	}{
		{keys, "DELETE", "/api/v1/t/tenant-a/tokens/" + between(tokens["admin"].Body.String(), `"id":"`, `"`), ""},
		{keys, "DELETE", "/api/v1/t/tenant-a/tokens/" + between(tokens["viewer"].Body.String(), `"id":"`, `"`), ""},
		{keys, "PATCH", "/api/v1/t/tenant-a/members/" + admin.ID, `{"role":"viewer"}`},
		{keys, "DELETE", "/api/v1/t/tenant-a/members/" + admin.ID, ""},
		{keys, "DELETE", "/api/v1/t/tenant-a/invitations/" + between(adminInvite.Body.String(), `"id":"`, `"`), ""},
		{people, "PATCH", "/api/v1/t/tenant-a/members/" + admin.ID, `{"role":"viewer"}`},
		{people, "DELETE", "/api/v1/t/tenant-a/members/" + admin.ID, ""},
		{people, "DELETE", "/api/v1/t/tenant-a/invitations/" + between(adminInvite.Body.String(), `"id":"`, `"`), ""},
		{people, "POST", "/api/v1/t/tenant-a/members", `{"email":"escalate@example.com","role":"admin"}`},
	} {
		if res := f.do(t, tc.who, tc.method, tc.path, tc.body); res.Code != http.StatusForbidden {
			t.Errorf("%s %s %s as %s: got %d %s, want 403", tc.method, tc.path, tc.body, tc.who.name, res.Code, res.Body)
		}
	}
	if f.snapshot(t, a) != before {
		t.Fatal("a refused request changed data")
	}
	adminKey := principal{name: "admin key", bearer: between(tokens["admin"].Body.String(), `"secret":"`, `"`)}
	mustStatus(t, f.do(t, adminKey, "GET", "/api/v1/t/tenant-a/locations", ""), http.StatusOK, "the admin's token after the tries")
	// Within their own reach, they may.
	own := f.do(t, keys, "POST", "/api/v1/t/tenant-a/tokens", `{"name":"mine","role":"keyholder"}`)
	mustStatus(t, own, http.StatusCreated, "keyholder makes a keyholder token")
	mustStatus(t, f.do(t, keys, "DELETE", "/api/v1/t/tenant-a/tokens/"+between(own.Body.String(), `"id":"`, `"`), ""), http.StatusNoContent, "keyholder revokes it")
	peer := f.do(t, people, "POST", "/api/v1/t/tenant-a/members", `{"email":"peer@example.com","role":"people"}`)
	mustStatus(t, peer, http.StatusCreated, "people invites a peer")
	mustStatus(t, f.do(t, people, "DELETE", "/api/v1/t/tenant-a/invitations/"+between(peer.Body.String(), `"id":"`, `"`), ""), http.StatusNoContent, "people revokes it")
}

// testInvitationLifecycle: replaced, revoked, used and expired invitations
// are refused, each saying why, and every step is audited.
func testInvitationLifecycle(t *testing.T, f *fixture) {
	a := f.a
	invite := func(email string) *httptest.ResponseRecorder {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"`+email+`","role":"viewer","department_id":"`+a.department.ID+`"}`)
		mustStatus(t, res, http.StatusCreated, "invite "+email)
		return res
	}
	lookup := func(secret string) *httptest.ResponseRecorder {
		return f.do(t, principal{}, "GET", "/api/v1/invitations/"+secret, "")
	}
	first, second := invite("life@example.com"), invite("Life@Example.com")
	if res := lookup(linkSecret(first)); res.Code != http.StatusNotFound {
		t.Fatalf("a replaced invitation: got %d %s, want 404", res.Code, res.Body)
	}
	list := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/invitations", "").Body.String()
	if strings.Count(list, "life@example.com") != 1 || strings.Contains(list, "/invite/") {
		t.Fatalf("list after re-inviting: %s", list)
	}
	id := between(second.Body.String(), `"id":"`, `"`)
	mustStatus(t, f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/invitations/"+id, ""), http.StatusNoContent, "revoke")
	if res := lookup(linkSecret(second)); res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), "revoked") {
		t.Fatalf("a revoked invitation: got %d %s, want 404 saying revoked", res.Code, res.Body)
	}
	mustStatus(t, f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/invitations/"+id, ""), http.StatusNotFound, "revoke twice")

	third := invite("life@example.com")
	link := "/api/v1/invitations/" + linkSecret(third) + "/accept"
	if res := f.do(t, principal{}, "POST", link, `{"name":"Life"}`); res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), `"password":`) {
		t.Fatalf("accept without a password: got %d %s, want 422 naming password", res.Code, res.Body)
	}
	accepted := f.do(t, principal{}, "POST", link, `{"name":"Life","password":"a life of my own"}`)
	mustStatus(t, accepted, http.StatusOK, "accept")
	life := sessionOf(t, "life", accepted)
	mustStatus(t, f.do(t, life, "GET", "/api/v1/t/tenant-a/departments/"+a.department.ID, ""), http.StatusOK, "the new member in its department")
	members := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/members", "").Body.String()
	if !strings.Contains(members, `"department_id":"`+a.department.ID+`"`) {
		t.Fatalf("the membership lacks the invitation's department: %s", members)
	}
	if res := f.do(t, principal{}, "POST", link, `{"name":"Again","password":"a life of my own"}`); res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), "used") {
		t.Fatalf("accept twice: got %d %s, want 404 saying used", res.Code, res.Body)
	}

	past := func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }
	old, err := dataplane.NewInvitationStore(f.e.Identity(), f.e, f.e.Tenants(), password.Hash, "", past).Invite(a.ctx, qm.NewInvitation{Email: "late@example.com", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	expired := strings.TrimPrefix(old.Link, "/invite/")
	if res := lookup(expired); res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), "expired") {
		t.Fatalf("an expired invitation: got %d %s, want 404 saying expired", res.Code, res.Body)
	}
	mustStatus(t, f.do(t, principal{}, "POST", "/api/v1/invitations/"+expired+"/accept", `{"password":"too late for this"}`), http.StatusNotFound, "accept an expired invitation")
	mustStatus(t, lookup("qmi_"+strings.Repeat("0", 64)), http.StatusNotFound, "an unknown link")
	if code := signIn(t, f, "late@example.com", "too late for this", "203.0.113.3"); code != http.StatusUnauthorized {
		t.Fatalf("an expired invitation made an account: sign-in got %d", code)
	}

	// What an invitation names stays, or it says what went.
	mustStatus(t, f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/roles", `{"name":"temp","permissions":["assets:read"]}`), http.StatusCreated, "create role")
	mustStatus(t, f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"temp@example.com","role":"temp"}`), http.StatusCreated, "invite with the role")
	mustStatus(t, f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/roles/temp", ""), http.StatusConflict, "delete a role an invitation offers")
	dept := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/departments", `{"name":"Short-lived"}`)
	mustStatus(t, dept, http.StatusCreated, "create department")
	deptID := between(dept.Body.String(), `"id":"`, `"`)
	gone := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"gone@example.com","role":"viewer","department_id":"`+deptID+`"}`)
	mustStatus(t, gone, http.StatusCreated, "invite into the department")
	mustStatus(t, f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/departments/"+deptID, ""), http.StatusNoContent, "delete the department")
	if res := f.do(t, principal{}, "POST", "/api/v1/invitations/"+linkSecret(gone)+"/accept", `{"password":"a password of mine"}`); res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), "department") {
		t.Fatalf("accept into a deleted department: got %d %s, want 422 naming the department", res.Code, res.Body)
	}
	if code := signIn(t, f, "gone@example.com", "a password of mine", "203.0.113.6"); code != http.StatusUnauthorized {
		t.Fatalf("a refused acceptance made an account: sign-in got %d", code)
	}

	log := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/audit?resource_type=invitation&limit=500", "").Body.String()
	for _, action := range []string{"invitation.create", "invitation.revoke", "invitation.accept"} {
		if !strings.Contains(log, `"`+action+`"`) {
			t.Errorf("%s not audited", action)
		}
	}
	if strings.Contains(log, "/invite/") || strings.Contains(log, linkSecret(third)) {
		t.Error("the audit log shows an invitation's link")
	}
}

// testAcceptAsTheAccount: an invitation to an existing account is accepted
// only by that account, signed in.
func testAcceptAsTheAccount(t *testing.T, f *fixture) {
	a, b := f.a, f.b
	res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"viewer@tenant-b.example","role":"viewer"}`)
	mustStatus(t, res, http.StatusCreated, "invite B's viewer")
	view := f.do(t, principal{}, "GET", "/api/v1/invitations/"+linkSecret(res), "")
	if !strings.Contains(view.Body.String(), `"sign_in":true`) {
		t.Fatalf("invitation view: %s", view.Body)
	}
	link := "/api/v1/invitations/" + linkSecret(res) + "/accept"
	mustStatus(t, f.do(t, principal{}, "POST", link, `{"password":"someone else's choice"}`), http.StatusUnauthorized, "accept anonymously")
	mustStatus(t, f.do(t, a.viewer, "POST", link, `{}`), http.StatusForbidden, "accept as another account")
	noCSRF := b.viewer
	noCSRF.csrf = "wrong"
	mustStatus(t, f.do(t, noCSRF, "POST", link, `{}`), http.StatusForbidden, "accept without the CSRF token")
	mustStatus(t, f.do(t, b.viewer, "GET", "/api/v1/t/tenant-a/locations", ""), http.StatusNotFound, "before accepting")
	mustStatus(t, f.do(t, b.viewer, "POST", link, `{}`), http.StatusOK, "accept as the account")
	mustStatus(t, f.do(t, b.viewer, "GET", "/api/v1/t/tenant-a/locations", ""), http.StatusOK, "after accepting")
	if code := signIn(t, f, "viewer@tenant-b.example", "someone else's choice", "203.0.113.4"); code != http.StatusUnauthorized {
		t.Fatalf("a password sent with the invitation signs in: got %d", code)
	}
}

// testMe: a user sees the tenants it belongs to and the invitations waiting
// for it.
func testMe(t *testing.T, f *fixture) {
	u, me := f.mustMember(t, f.a, "me@example.com", "viewer")
	f.mustJoin(t, f.b, u, "technician")
	mustStatus(t, f.do(t, f.b.admin, "POST", "/api/v1/t/tenant-b/members", `{"email":"me@example.com","role":"manager"}`), http.StatusCreated, "invite")
	var body struct {
		Tenants     []qm.TenantMembership  `json:"tenants"`
		Invitations []qm.PendingInvitation `json:"invitations"`
	}
	res := f.do(t, me, "GET", "/api/v1/auth/me", "")
	if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := []qm.TenantMembership{{Slug: "tenant-a", Name: "tenant-a", Role: "viewer"}, {Slug: "tenant-b", Name: "tenant-b", Role: "technician"}}
	if len(body.Tenants) != 2 || body.Tenants[0] != want[0] || body.Tenants[1] != want[1] {
		t.Errorf("tenants: got %+v, want %+v", body.Tenants, want)
	}
	if len(body.Invitations) != 1 || body.Invitations[0].TenantName != "tenant-b" || body.Invitations[0].Role != "manager" || body.Invitations[0].ExpiresAt.IsZero() {
		t.Errorf("invitations: got %+v, want one to tenant-b as manager", body.Invitations)
	}
}

// testResetPassword: the operator's one-time link lets the owner set a new
// password, once, and ends the account's other sessions.
func testResetPassword(t *testing.T, f *fixture) {
	f.mustUser(t, "forgot@example.com", false)
	old := f.login(t, "forgot@example.com")
	secret, _, err := f.auth.IssueReset(context.Background(), "forgot@example.com")
	if err != nil {
		t.Fatal(err)
	}
	send := func(token, pw string) *httptest.ResponseRecorder {
		return f.do(t, principal{}, "POST", "/api/v1/auth/reset-password", `{"token":"`+token+`","password":"`+pw+`"}`)
	}
	if res := send(secret, "short"); res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), `"password":`) {
		t.Fatalf("a short password: got %d %s, want 422 naming password", res.Code, res.Body)
	}
	res := send(secret, "a password I chose")
	mustStatus(t, res, http.StatusOK, "reset")
	mustStatus(t, f.do(t, sessionOf(t, "forgot", res), "GET", "/api/v1/auth/me", ""), http.StatusOK, "the new session")
	mustStatus(t, f.do(t, old, "GET", "/api/v1/auth/me", ""), http.StatusUnauthorized, "a session from before the reset")
	if code := signIn(t, f, "forgot@example.com", "a password I chose", "203.0.113.5"); code != http.StatusOK {
		t.Fatalf("sign in with the new password: got %d", code)
	}
	mustStatus(t, send(secret, "another one of mine"), http.StatusNotFound, "use the link twice")
	mustStatus(t, send("qmr_"+strings.Repeat("0", 64), "another one of mine"), http.StatusNotFound, "an unknown link")
	late := auth.New(auth.Config{Identity: f.e.Identity(), Tenants: f.e.Tenants(), Now: func() time.Time { return time.Now().Add(-25 * time.Hour) }})
	expired, _, err := late.IssueReset(context.Background(), "forgot@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if res := send(expired, "another one of mine"); res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), "expired") {
		t.Fatalf("an expired link: got %d %s, want 404 saying expired", res.Code, res.Body)
	}
}

// testCheckOutOnAccept: an invitation may promise assets, checked out to
// the person once they accept; only the tenant's own assets, only by one
// who may check assets out, and an asset gone meanwhile is skipped.
func testCheckOutOnAccept(t *testing.T, f *fixture) {
	a, b := f.a, f.b
	assets := dataplane.NewAssetStore(f.e, f.e.Identity(), time.Now)
	var ids []string
	for range 3 {
		asset := &qm.Asset{ModelID: a.model.ID}
		if err := assets.CreateAsset(a.ctx, asset); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, asset.ID)
	}
	before, beforeB := f.snapshot(t, a), f.snapshot(t, b)
	for _, body := range []string{
		`{"email":"holder@example.com","role":"viewer","check_out":["` + b.asset.ID + `"]}`,
		`{"email":"holder@example.com","role":"viewer","check_out":["not-an-asset"]}`,
	} {
		if res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", body); res.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: got %d %s, want 422", body, res.Code, res.Body)
		}
	}
	if f.snapshot(t, a) != before || f.snapshot(t, b) != beforeB {
		t.Fatal("a refused invitation changed data")
	}
	mustStatus(t, f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/roles", `{"name":"recruiter","permissions":["users:manage"]}`), http.StatusCreated, "create role")
	_, recruiter := f.mustMember(t, a, "recruiter@example.com", "recruiter")
	before = f.snapshot(t, a)
	if res := f.do(t, recruiter, "POST", "/api/v1/t/tenant-a/members", `{"email":"holder@example.com","role":"recruiter","check_out":["`+ids[0]+`"]}`); res.Code != http.StatusForbidden {
		t.Errorf("check out without assets:write: got %d %s, want 403", res.Code, res.Body)
	}
	if f.snapshot(t, a) != before {
		t.Fatal("a refused invitation changed data")
	}
	first := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"holder@example.com","role":"viewer","check_out":["`+ids[0]+`","`+ids[1]+`"]}`)
	mustStatus(t, first, http.StatusCreated, "invite with assets")
	// Inviting again adds to the promise.
	again := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"holder@example.com","role":"viewer","check_out":["`+ids[2]+`"]}`)
	mustStatus(t, again, http.StatusCreated, "invite again")
	if _, err := assets.CheckOut(a.ctx, ids[1], qm.CheckOut{HolderType: qm.HolderLocation, HolderID: a.location.ID}); err != nil {
		t.Fatal(err)
	}
	res := f.do(t, principal{}, "POST", "/api/v1/invitations/"+linkSecret(again)+"/accept", `{"password":"holding things now"}`)
	mustStatus(t, res, http.StatusOK, "accept")
	var reply struct {
		User       qm.User  `json:"user"`
		CheckedOut []string `json:"checked_out"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &reply); err != nil {
		t.Fatal(err)
	}
	if len(reply.CheckedOut) != 2 || !slices.Contains(reply.CheckedOut, ids[0]) || !slices.Contains(reply.CheckedOut, ids[2]) {
		t.Fatalf("checked out %v, want %s and %s (not %s, held elsewhere)", reply.CheckedOut, ids[0], ids[2], ids[1])
	}
	for i, want := range []string{reply.User.ID, a.location.ID, reply.User.ID} {
		got, err := assets.Asset(a.ctx, ids[i])
		if err != nil || got.HolderID != want {
			t.Errorf("asset %d: held by %q, %v; want %q", i, got.HolderID, err, want)
		}
	}
}

// testPeople: the member directory names the tenant's people to anyone who
// reads its assets, with their name, email and whether they are disabled,
// and nothing a manager of people alone may see (role, department); it
// holds no one of another tenant.
func testPeople(t *testing.T, f *fixture) {
	a, b := f.a, f.b
	tess := &qm.User{Email: "tess@" + a.t.Slug + ".example", Name: "Tess Holder"}
	if err := f.e.Identity().CreateUser(context.Background(), tess, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: a.t.ID, UserID: tess.ID, Role: "technician", DepartmentID: a.department.ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Earlier cases make some of B's people members of A too; Bea belongs
	// to B alone.
	bea, _ := f.mustMember(t, b, "bea@"+b.t.Slug+".example", "viewer")
	confined, _ := f.confinedAdmin(t, a)

	read := func(t *testing.T, who principal, query string) []map[string]any {
		t.Helper()
		res := f.do(t, who, "GET", tenantPath("/people"+query)(a), "")
		if res.Code != http.StatusOK {
			t.Fatalf("GET /people%s as %s: got %d %s, want 200", query, who.name, res.Code, res.Body)
		}
		if strings.Contains(res.Body.String(), bea.ID) || strings.Contains(res.Body.String(), bea.Email) {
			t.Errorf("GET /people%s as %s: got %s, naming %s, a member of %s alone", query, who.name, res.Body, bea.Email, b.t.Slug)
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
}
