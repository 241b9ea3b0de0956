package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/metrics"
)

// TestAPI runs request scenarios on SQLite: each names the caller, the
// request, and the status and error code expected.
func TestAPI(t *testing.T) {
	f := newFixture(t, backends[0])
	a := f.a
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name   string
		who    principal
		method string
		path   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"LoginWrongPassword", principal{addr: "198.51.100.1"}, "POST", "/api/v1/auth/login", `{"email":"admin@tenant-a.example","password":"wrong wrong wrong"}`, "", 401, "unauthenticated"},
		{"LoginUnknownEmail", principal{addr: "198.51.100.2"}, "POST", "/api/v1/auth/login", `{"email":"ghost@tenant-a.example","password":"wrong wrong wrong"}`, "", 401, "unauthenticated"},
		{"LoginMalformed", principal{}, "POST", "/api/v1/auth/login", `{"email":`, "", 400, "bad_request"},
		{"LoginNotJSON", principal{}, "POST", "/api/v1/auth/login", `email=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"BodyTooLarge", a.admin, "POST", "/api/v1/t/tenant-a/locations", big, "", 413, "too_large"},
		{"UnknownField", a.admin, "POST", "/api/v1/t/tenant-a/locations", `{"name":"x","owner":"me"}`, "", 400, "bad_request"},
		{"Validation", a.admin, "POST", "/api/v1/t/tenant-a/locations", `{"name":""}`, "", 422, "validation_failed"},
		{"Conflict", a.admin, "POST", "/api/v1/t/tenant-a/locations", `{"name":"HQ"}`, "", 409, "conflict"},
		{"BadLimit", a.admin, "GET", "/api/v1/t/tenant-a/locations?limit=many", "", "", 400, "bad_request"},
		{"BadCursor", a.admin, "GET", "/api/v1/t/tenant-a/audit?after=x", "", "", 400, "bad_request"},
		{"BadTime", a.admin, "GET", "/api/v1/t/tenant-a/audit?since=yesterday", "", "", 400, "bad_request"},
		{"BadWarrantyDate", a.admin, "GET", "/api/v1/t/tenant-a/assets?warranty_before=31.01.2026", "", "", 400, "bad_request"},
		{"BadHolderType", a.viewer, "GET", "/api/v1/t/tenant-a/assets?holder_type=vehicle&holder_id=" + a.asset.ID, "", "", 400, "bad_request"},
		{"HolderIDAlone", a.viewer, "GET", "/api/v1/t/tenant-a/assets/export?holder_id=" + a.asset.ID, "", "", 400, "bad_request"},
		{"UnknownTenant", a.admin, "GET", "/api/v1/t/nobody/locations", "", "", 404, "not_found"},
		{"TokenWithMoreThanOwnRole", a.viewerToken, "POST", "/api/v1/t/tenant-a/tokens", `{"name":"x","role":"admin"}`, "", 403, "forbidden"},
		{"TokenUnknownRole", a.admin, "POST", "/api/v1/t/tenant-a/tokens", `{"name":"x","role":"god"}`, "", 422, "validation_failed"},
		{"BearerMalformed", principal{bearer: "not-a-token"}, "GET", "/api/v1/auth/me", "", "", 401, "unauthenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.doType(t, tc.who, tc.method, tc.path, tc.body, tc.ctype)
			var body struct {
				Error struct {
					Code, Message, RequestID string
				} `json:"error"`
			}
			json.Unmarshal(res.Body.Bytes(), &body)
			if res.Code != tc.status || body.Error.Code != tc.code || body.Error.Message == "" || res.Header().Get("X-Request-Id") == "" {
				t.Fatalf("got %d %s, want %d with code %s", res.Code, res.Body, tc.status, tc.code)
			}
		})
	}
	t.Run("SameAnswerForUnknownEmailAndWrongPassword", func(t *testing.T) {
		one := f.do(t, principal{addr: "198.51.100.3"}, "POST", "/api/v1/auth/login", `{"email":"ghost2@tenant-a.example","password":"wrong wrong wrong"}`)
		two := f.do(t, principal{addr: "198.51.100.4"}, "POST", "/api/v1/auth/login", `{"email":"viewer@tenant-a.example","password":"wrong wrong wrong"}`)
		if one.Code != two.Code || between(one.Body.String(), `"message":"`, `"`) != between(two.Body.String(), `"message":"`, `"`) {
			t.Fatalf("answers differ: %s vs %s", one.Body, two.Body)
		}
	})
	t.Run("LoginThrottled", func(t *testing.T) {
		var last *http.Response
		for range 7 {
			last = f.do(t, principal{addr: "198.51.100.5"}, "POST", "/api/v1/auth/login", `{"email":"throttled@tenant-a.example","password":"wrong wrong wrong"}`).Result()
		}
		if last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after 7 failures: got %d, want 429", last.StatusCode)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		p := f.login(t, "viewer@tenant-a.example")
		if res := f.do(t, p, "POST", "/api/v1/auth/logout", ""); res.Code != http.StatusNoContent {
			t.Fatalf("logout: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, p, "GET", "/api/v1/auth/me", ""); res.Code != http.StatusUnauthorized {
			t.Fatalf("after logout: got %d, want 401", res.Code)
		}
	})
	t.Run("ChangePassword", func(t *testing.T) {
		f.mustUser(t, "changer@example.com", false)
		old1, old2 := f.login(t, "changer@example.com"), f.login(t, "changer@example.com")
		res := f.do(t, old1, "POST", "/api/v1/auth/password", `{"current_password":"`+testPassword+`","new_password":"a brand new password"}`)
		if res.Code != http.StatusOK {
			t.Fatalf("change: %d %s", res.Code, res.Body)
		}
		for _, p := range []principal{old1, old2} {
			if res := f.do(t, p, "GET", "/api/v1/auth/me", ""); res.Code != http.StatusUnauthorized {
				t.Fatalf("an old session after the change: got %d, want 401", res.Code)
			}
		}
		var fresh principal
		for _, c := range res.Result().Cookies() {
			if c.Name == "qm_session" {
				fresh = principal{name: "changer", cookie: c.Value, csrf: between(res.Body.String(), `"csrf_token":"`, `"`)}
			}
		}
		if res := f.do(t, fresh, "GET", "/api/v1/auth/me", ""); res.Code != http.StatusOK {
			t.Fatalf("the new session: got %d", res.Code)
		}
		if res := f.do(t, principal{addr: "198.51.100.8"}, "POST", "/api/v1/auth/login", `{"email":"changer@example.com","password":"a brand new password"}`); res.Code != http.StatusOK {
			t.Fatalf("sign in with the new password: %d", res.Code)
		}
		if res := f.do(t, a.adminToken, "POST", "/api/v1/auth/password", `{"current_password":"x","new_password":"a brand new password"}`); res.Code != http.StatusForbidden {
			t.Fatalf("a token changes a password: got %d, want 403", res.Code)
		}
	})
	t.Run("RevokedToken", func(t *testing.T) {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/tokens", `{"name":"short-lived","role":"viewer"}`)
		secret, id := between(res.Body.String(), `"secret":"`, `"`), between(res.Body.String(), `"id":"`, `"`)
		tok := principal{name: "short-lived", bearer: secret}
		if res := f.do(t, tok, "GET", "/api/v1/t/tenant-a/locations", ""); res.Code != http.StatusOK {
			t.Fatalf("new token: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/tokens/"+id, ""); res.Code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, tok, "GET", "/api/v1/t/tenant-a/locations", ""); res.Code != http.StatusUnauthorized {
			t.Fatalf("revoked token: got %d, want 401", res.Code)
		}
		if strings.Contains(f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/tokens", "").Body.String(), secret) {
			t.Fatal("token list shows a secret")
		}
	})
	t.Run("SuspendedTenant", func(t *testing.T) {
		tf := f.mustTenant(t, backends[0].tier, "paused")
		if res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/paused/suspend", ""); res.Code != http.StatusOK {
			t.Fatalf("suspend: %d %s", res.Code, res.Body)
		}
		for _, p := range []principal{tf.admin, tf.adminToken} {
			res := f.do(t, p, "GET", "/api/v1/t/paused/locations", "")
			if res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "suspended") {
				t.Fatalf("suspended tenant as %s: got %d %s, want 403 naming the suspension", p.name, res.Code, res.Body)
			}
		}
		if res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/paused/resume", ""); res.Code != http.StatusOK {
			t.Fatalf("resume: %d %s", res.Code, res.Body)
		}
		res := f.do(t, tf.admin, "GET", "/api/v1/t/paused/locations", "")
		if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), "HQ") {
			t.Fatalf("resumed tenant: got %d %s, want its data intact", res.Code, res.Body)
		}
		log := f.do(t, tf.admin, "GET", "/api/v1/t/paused/audit?resource_type=tenant", "").Body.String()
		if !strings.Contains(log, `"tenant.suspend"`) || !strings.Contains(log, `"tenant.resume"`) || !strings.Contains(log, "operator@example.com") {
			t.Fatalf("the tenant's audit log lacks the operator's actions: %s", log)
		}
	})
	t.Run("Members", func(t *testing.T) {
		// B's admin is invited to A as a viewer, accepts signed in as
		// itself: one user, two tenants, two roles.
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"admin@tenant-b.example","role":"viewer"}`)
		if res.Code != http.StatusCreated {
			t.Fatalf("invite an existing user: %d %s", res.Code, res.Body)
		}
		bAdmin := f.login(t, "admin@tenant-b.example")
		if res := f.do(t, bAdmin, "GET", "/api/v1/t/tenant-a/locations", ""); res.Code != http.StatusNotFound {
			t.Fatalf("invited, not yet accepted, reads A: got %d, want 404", res.Code)
		}
		accepted := f.do(t, bAdmin, "POST", "/api/v1/invitations/"+linkSecret(res)+"/accept", "{}")
		if accepted.Code != http.StatusOK {
			t.Fatalf("accept: %d %s", accepted.Code, accepted.Body)
		}
		userID := between(accepted.Body.String(), `"id":"`, `"`)
		if res := f.do(t, bAdmin, "GET", "/api/v1/t/tenant-a/locations", ""); res.Code != http.StatusOK {
			t.Fatalf("new member reads A: got %d", res.Code)
		}
		if res := f.do(t, bAdmin, "POST", "/api/v1/t/tenant-a/locations", `{"name":"Not allowed"}`); res.Code != http.StatusForbidden {
			t.Fatalf("viewer in A writes: got %d, want 403", res.Code)
		}
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/members/"+userID, ""); res.Code != http.StatusNoContent {
			t.Fatalf("remove: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, bAdmin, "GET", "/api/v1/t/tenant-a/locations", ""); res.Code != http.StatusNotFound {
			t.Fatalf("removed member reads A: got %d, want 404", res.Code)
		}
		if res := f.do(t, bAdmin, "GET", "/api/v1/t/tenant-b/locations", ""); res.Code != http.StatusOK {
			t.Fatalf("removed from A, the session in B: got %d, want 200", res.Code)
		}
		me := between(f.do(t, a.admin, "GET", "/api/v1/auth/me", "").Body.String(), `"id":"`, `"`)
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/members/"+me, ""); res.Code != http.StatusForbidden {
			t.Fatalf("remove oneself: got %d, want 403", res.Code)
		}
		log := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/audit", "").Body.String()
		for _, action := range []string{"invitation.create", "invitation.accept", "member.remove"} {
			if !strings.Contains(log, `"`+action+`"`) {
				t.Errorf("%s not audited: %s", action, log)
			}
		}
	})
	t.Run("CustomRoles", func(t *testing.T) {
		if res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/roles", `{"name":"stocktaker","permissions":["assets:read","audit:read"]}`); res.Code != http.StatusCreated {
			t.Fatalf("create role: %d %s", res.Code, res.Body)
		}
		for _, tc := range []struct {
			body   string
			status int
		}{
			{`{"name":"stocktaker","permissions":["assets:read"]}`, 409},
			{`{"name":"viewer","permissions":["assets:read"]}`, 422},
			{`{"name":"Bad Name","permissions":["assets:read"]}`, 422},
			{`{"name":"nothing","permissions":[]}`, 422},
			{`{"name":"wizard","permissions":["magic:cast"]}`, 422},
		} {
			if res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/roles", tc.body); res.Code != tc.status {
				t.Errorf("%s: got %d %s, want %d", tc.body, res.Code, res.Body, tc.status)
			}
		}
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/members", `{"email":"counter@example.com","role":"stocktaker"}`)
		if res.Code != http.StatusCreated {
			t.Fatalf("invite with a custom role: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, principal{}, "POST", "/api/v1/invitations/"+linkSecret(res)+"/accept", `{"name":"Counter","password":"`+testPassword+`"}`); res.Code != http.StatusOK {
			t.Fatalf("accept: %d %s", res.Code, res.Body)
		}
		counter := f.login(t, "counter@example.com")
		for path, want := range map[string]int{"/api/v1/t/tenant-a/audit": 200, "/api/v1/t/tenant-a/locations": 200, "/api/v1/t/tenant-a/tokens": 403} {
			if res := f.do(t, counter, "GET", path, ""); res.Code != want {
				t.Errorf("stocktaker GET %s: got %d, want %d", path, res.Code, want)
			}
		}
		// A custom role cannot grant what its holder lacks.
		if res := f.do(t, a.viewer, "POST", "/api/v1/t/tenant-a/roles", `{"name":"escalate","permissions":["users:manage"]}`); res.Code != http.StatusForbidden {
			t.Errorf("viewer makes a role: got %d, want 403", res.Code)
		}
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/roles/stocktaker", ""); res.Code != http.StatusConflict {
			t.Errorf("delete a held role: got %d, want 409", res.Code)
		}
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/roles/viewer", ""); res.Code != http.StatusUnprocessableEntity {
			t.Errorf("delete a built-in role: got %d, want 422", res.Code)
		}
	})
	t.Run("BreakGlass", func(t *testing.T) {
		tf := f.mustTenant(t, backends[0].tier, "glassy")
		if res := f.do(t, f.operator, "GET", "/api/v1/t/glassy/locations", ""); res.Code != http.StatusNotFound {
			t.Fatalf("operator before break-glass: got %d, want 404", res.Code)
		}
		if res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/glassy/break-glass", `{"reason":" "}`); res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("break-glass without a reason: got %d, want 422", res.Code)
		}
		if res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/glassy/break-glass", `{"reason":"ticket 42: missing assets"}`); res.Code != http.StatusCreated {
			t.Fatalf("break-glass: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, f.operator, "GET", "/api/v1/t/glassy/locations", ""); res.Code != http.StatusOK || !strings.Contains(res.Body.String(), "HQ") {
			t.Fatalf("operator reads after break-glass: got %d %s", res.Code, res.Body)
		}
		if res := f.do(t, f.operator, "POST", "/api/v1/t/glassy/locations", `{"name":"Operator was here"}`); res.Code != http.StatusForbidden {
			t.Fatalf("operator writes after break-glass: got %d, want 403", res.Code)
		}
		if res := f.do(t, f.operator, "GET", "/api/v1/t/tenant-b/locations", ""); res.Code != http.StatusNotFound {
			t.Fatalf("break-glass opened another tenant: got %d, want 404", res.Code)
		}
		log := f.do(t, tf.admin, "GET", "/api/v1/t/glassy/audit?action=break_glass.start", "").Body.String()
		if !strings.Contains(log, "ticket 42: missing assets") || !strings.Contains(log, `"actor_kind":"operator"`) {
			t.Fatalf("the tenant cannot see the break-glass access: %s", log)
		}
	})
	t.Run("BookValue", func(t *testing.T) {
		// The fixture's model follows a 36-month schedule.
		bought := time.Now().AddDate(-1, 0, -1).Format(time.DateOnly)
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets", `{"model_id":"`+a.model.ID+`","purchase_date":"`+bought+`","cost_cents":360000}`)
		if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"book_value_cents":240000`) {
			t.Fatalf("got %d %s, want a book value of two thirds", res.Code, res.Body)
		}
		if res := f.do(t, a.admin, "DELETE", "/api/v1/t/tenant-a/depreciations/"+a.depreciation.ID, ""); res.Code != http.StatusConflict {
			t.Fatalf("delete a schedule in use: got %d, want 409", res.Code)
		}
	})
	t.Run("AssetImport", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "assets.csv")
		fw.Write([]byte("Asset Tag,Model Name,Category,Purchase Cost\nUP-1,Uploaded,Phones,$10\nUP-2,Uploaded,Phones,lots\nUP-3,Uploaded,Phones,\n"))
		mw.Close()
		res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/import?skip_bad_rows=true", body.String(), mw.FormDataContentType())
		var rep struct {
			Committed       bool
			Created, Failed int
			Problems        []struct{ Line int }
		}
		json.Unmarshal(res.Body.Bytes(), &rep)
		if res.Code != http.StatusOK || !rep.Committed || rep.Created != 2 || rep.Failed != 1 || rep.Problems[0].Line != 3 {
			t.Fatalf("got %d %s", res.Code, res.Body)
		}
		if res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/import", "Asset Tag\n", "application/json"); res.Code != http.StatusUnsupportedMediaType {
			t.Fatalf("JSON body: got %d, want 415", res.Code)
		}
		if res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/import", "Asset Tag\nA\n", "text/csv"); res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("no Model column: got %d, want 422", res.Code)
		}
	})
	t.Run("ImportJob", func(t *testing.T) {
		csv := "Asset Tag,Model Name,Category,Purchase Date\nJOB-1,Queued,Phones,2025-01-31\nJOB-2,Queued,Phones,31/02/2025\n"
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "phones.csv")
		fw.Write([]byte(csv))
		mw.Close()
		res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/imports?dry_run=true", body.String(), mw.FormDataContentType())
		if res.Code != http.StatusAccepted || !strings.Contains(res.Body.String(), `"status":"running"`) || !strings.Contains(res.Body.String(), `"file_name":"phones.csv"`) {
			t.Fatalf("start: %d %s", res.Code, res.Body)
		}
		job := f.waitImport(t, a.admin, res.Header().Get("Location"))
		if job.Status != qm.ImportDone || job.Report == nil || job.Report.Committed || job.Report.Failed != 1 || job.Report.Problems[0].Line != 3 ||
			job.RowsRead != 2 || job.BytesRead != int64(len(csv)) || job.CreatedBy != "admin@tenant-a.example" {
			t.Fatalf("dry run job: %+v", job)
		}
		// Bad rows stop a job as they stop the import that answers at once:
		// it failed, says why, and its report lists them.
		res = f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/imports", csv, "text/csv")
		job = f.waitImport(t, a.admin, res.Header().Get("Location"))
		if job.Status != qm.ImportFailed || !strings.Contains(job.Error, "1 of 2 rows are bad") || job.Report == nil || job.Report.Committed || job.Report.Problems[0].Line != 3 {
			t.Fatalf("job stopped by a bad row: %+v", job)
		}
		res = f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/imports?skip_bad_rows=true", csv, "text/csv")
		job = f.waitImport(t, a.admin, res.Header().Get("Location"))
		if job.Status != qm.ImportDone || !job.Report.Committed || job.Report.Created != 1 {
			t.Fatalf("import job: %+v", job)
		}
		if res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets?q=JOB-1", ""); !strings.Contains(res.Body.String(), `"total":1`) {
			t.Fatalf("imported asset not found: %s", res.Body)
		}
		if res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/imports", "Asset Tag\nA\n", "text/csv"); res.Code != http.StatusUnprocessableEntity {
			t.Fatalf("no Model column: got %d, want 422", res.Code)
		}
		list := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/imports", "").Body.String()
		if strings.Count(list, `"status":"done"`) < 2 || strings.Contains(f.do(t, f.b.admin, "GET", "/api/v1/t/tenant-b/imports", "").Body.String(), "phones.csv") {
			t.Fatalf("job lists: %s", list)
		}
	})
	t.Run("Labels", func(t *testing.T) {
		res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets/"+a.asset.ID+"/label.svg", "")
		if res.Code != http.StatusOK || !strings.HasPrefix(res.Body.String(), "<svg") || res.Header().Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("label: %d %s", res.Code, res.Header())
		}
		sheet := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets/labels?ids="+a.asset.ID, "").Body.String()
		if !strings.Contains(sheet, a.asset.Tag) || strings.Count(sheet, "<svg") != 1 {
			t.Fatalf("sheet:\n%s", sheet)
		}
		if res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets/labels", ""); res.Code != http.StatusBadRequest {
			t.Fatalf("no ids: got %d, want 400", res.Code)
		}
	})
	t.Run("AssetExport", func(t *testing.T) {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets", `{"model_id":"`+a.model.ID+`","tag":"EXP-1","name":"=HYPERLINK(\"http://evil\")","serial":"-1+1"}`)
		if res.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Code, res.Body)
		}
		id := between(res.Body.String(), `"id":"`, `"`)
		if res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/"+id+"/checkout", `{"holder_type":"user","holder_id":"`+a.viewerID+`"}`); res.Code != http.StatusOK {
			t.Fatalf("check out: %d %s", res.Code, res.Body)
		}
		out := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets/export?q=exp-1", "").Body.String()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "Asset Tag,Name,Serial Number,Model") ||
			!strings.Contains(lines[1], `EXP-1,"'=HYPERLINK(""http://evil"")",'-1+1,Fixture model`) || !strings.Contains(lines[1], ",user: viewer@tenant-a.example,") {
			t.Fatalf("export:\n%s", out)
		}
		if other := f.do(t, f.b.admin, "GET", "/api/v1/t/tenant-b/assets/export", "").Body.String(); strings.Contains(other, "EXP-1") {
			t.Fatalf("B's export holds A's asset:\n%s", other)
		}
	})
	t.Run("CustomFields", func(t *testing.T) {
		viewer := f.login(t, "viewer@tenant-a.example")
		if res := f.do(t, viewer, "POST", "/api/v1/t/tenant-a/fields", `{"name":"RAM","type":"number"}`); res.Code != http.StatusForbidden {
			t.Fatalf("viewer defines a field: got %d, want 403", res.Code)
		}
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/fields", `{"name":"RAM (GB)","type":"number","required":true}`)
		if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"key":"ram_gb"`) {
			t.Fatalf("create field: %d %s", res.Code, res.Body)
		}
		ram := between(res.Body.String(), `"id":"`, `"`)
		res = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/fieldsets", `{"name":"Servers","field_ids":["`+ram+`"]}`)
		set := between(res.Body.String(), `"id":"`, `"`)
		res = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/models", `{"name":"PowerEdge","category_id":"`+a.refs["categories"].ID+`","field_set_id":"`+set+`"}`)
		if res.Code != http.StatusCreated {
			t.Fatalf("create model: %d %s", res.Code, res.Body)
		}
		model := between(res.Body.String(), `"id":"`, `"`)
		res = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets", `{"model_id":"`+model+`","tag":"SRV-1","fields":{"ram_gb":"a lot"}}`)
		if res.Code != http.StatusUnprocessableEntity || !strings.Contains(res.Body.String(), `"fields.ram_gb":"RAM (GB)`) || !strings.Contains(res.Body.String(), `is not a number"`) {
			t.Fatalf("bad value: %d %s", res.Code, res.Body)
		}
		res = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets", `{"model_id":"`+model+`","tag":"SRV-1","fields":{"ram_gb":256}}`)
		if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"ram_gb":256`) {
			t.Fatalf("create asset: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets?field.ram_gb=256", ""); !strings.Contains(res.Body.String(), `"total":1`) {
			t.Fatalf("filter: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets?field.ram_gb=many", ""); res.Code != http.StatusBadRequest {
			t.Fatalf("bad filter: got %d, want 400", res.Code)
		}
		out := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/assets/export?field.ram_gb=256", "").Body.String()
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[0], ",RAM (GB)") || !strings.HasSuffix(lines[1], ",256") {
			t.Fatalf("export:\n%s", out)
		}
	})
	t.Run("Ingest", func(t *testing.T) {
		dev := a.deviceToken
		at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		batch := fmt.Sprintf(`[{"time":"%s","lat":52.5,"lon":13.4,"speed_kmh":30,"metrics":{"battery_v":12.6,"ignition":true}},
			{"time":"%s","lat":52.6,"lon":13.5,"metrics":{"dtc":"P0301"}}]`, at.Format(time.RFC3339), at.Add(time.Minute).Format(time.RFC3339))
		res := f.do(t, dev, "POST", "/ingest/v1/points", batch)
		if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"stored":2`) {
			t.Fatalf("ingest: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, dev, "POST", "/ingest/v1/points", batch); !strings.Contains(res.Body.String(), `"duplicates":2`) {
			t.Fatalf("resend: %d %s", res.Code, res.Body)
		}
		ndjson := fmt.Sprintf("{\"time\":\"%s\",\"metrics\":{\"rpm\":900}}\n\n{\"time\":\"%s\",\"metrics\":{\"rpm\":950}}\n",
			at.Add(2*time.Minute).Format(time.RFC3339), at.Add(3*time.Minute).Format(time.RFC3339))
		if res := f.doType(t, dev, "POST", "/ingest/v1/points", ndjson, "application/x-ndjson"); !strings.Contains(res.Body.String(), `"stored":2`) {
			t.Fatalf("NDJSON: %d %s", res.Code, res.Body)
		}
		for _, c := range []struct {
			name, body string
			status     int
		}{
			{"Malformed", `[{"time":`, 400},
			{"LatitudeOutOfRange", `{"time":"` + at.Format(time.RFC3339) + `","lat":91,"lon":13}`, 422},
			{"Future", `{"time":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, 422},
			{"UnknownKey", `{"time":"` + at.Format(time.RFC3339) + `","latitude":52}`, 400},
			{"Speed1e300", `{"time":"` + at.Format(time.RFC3339) + `","lat":1,"lon":1,"speed_kmh":1e300}`, 422},
			{"Battery500", `{"time":"` + at.Format(time.RFC3339) + `","metrics":{"battery_pct":500}}`, 422},
			{"BatteryMinus50", `{"time":"` + at.Format(time.RFC3339) + `","metrics":{"battery_pct":-50}}`, 422},
			{"BodyTooLarge", "[" + strings.Repeat(" ", 17<<20) + "]", 413},
			{"TooMany", "[" + strings.Repeat(`{"time":"`+at.Format(time.RFC3339)+`"},`, 10000) + `{"time":"` + at.Format(time.RFC3339) + `"}]`, 413},
		} {
			if res := f.do(t, dev, "POST", "/ingest/v1/points", c.body); res.Code != c.status {
				t.Errorf("%s: got %d %s, want %d", c.name, res.Code, res.Body, c.status)
			}
		}
		latest := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+a.device.Ident+"/latest", "").Body.String()
		for _, want := range []string{`"lat":52.6`, `"rpm":{"value":950`, `"dtc":{"value":"P0301"`, `"points":4`} {
			if !strings.Contains(latest, want) {
				t.Errorf("latest lacks %s: %s", want, latest)
			}
		}
		pts := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+a.device.ID+"/points?from="+at.Format(time.RFC3339)+"&limit=3", "").Body.String()
		if strings.Count(pts, `"time"`) != 3 || !strings.Contains(pts, `"next"`) {
			t.Errorf("points: %s", pts)
		}
		trips := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+a.device.Ident+"/trips?from="+at.Add(-time.Minute).Format(time.RFC3339), "").Body.String()
		if strings.Count(trips, `"start"`) != 1 || !strings.Contains(trips, `"max_speed_kmh":30`) {
			t.Errorf("trips: %s", trips)
		}
		agg := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+a.device.Ident+"/aggregates?metric=rpm&bucket=1h&from="+at.Add(-time.Minute).Format(time.RFC3339), "").Body.String()
		if !strings.Contains(agg, `"count":2`) || !strings.Contains(agg, `"avg":925`) {
			t.Errorf("aggregates: %s", agg)
		}
		if res := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+a.device.Ident+"/aggregates?metric=rpm&bucket=1ms", ""); res.Code != http.StatusBadRequest {
			t.Errorf("a bucket under a second: got %d, want 400", res.Code)
		}
		if res := f.do(t, f.b.viewer, "GET", "/api/v1/t/tenant-b/devices/"+a.device.Ident+"/latest", ""); res.Code != http.StatusNotFound {
			t.Errorf("B reads A's device: got %d, want 404", res.Code)
		}
		// The list filters by health and searches: the device just reported.
		for _, c := range []struct {
			query string
			holds bool
		}{
			{"health=online", true},
			{"health=never_seen", false},
			{"health=offline", false},
			{"health=online&q=" + strings.ToUpper(a.device.Ident), true},
			{"q=no-such-device-anywhere", false},
		} {
			res := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices?"+c.query, "")
			if res.Code != http.StatusOK || strings.Contains(res.Body.String(), `"ident":"`+a.device.Ident+`"`) != c.holds {
				t.Errorf("devices?%s: got %d %s, want the device listed: %v", c.query, res.Code, res.Body, c.holds)
			}
		}
		if res := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices?health=sleepy", ""); res.Code != http.StatusBadRequest {
			t.Errorf("an unknown health: got %d, want 400", res.Code)
		}
	})
	t.Run("OsmAnd", func(t *testing.T) {
		dev, token := f.mustDevice(t, a.t)
		at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		q := fmt.Sprintf("/?id=%s&key=%s&timestamp=%d&lat=52.5&lon=13.4&speed=10&bearing=90&batt=80", dev.Ident, token, at.Unix())
		if res := f.sendOsmAnd("GET", q, "", ""); res.Code != http.StatusOK {
			t.Fatalf("query form: %d %s", res.Code, res.Body)
		}
		form := fmt.Sprintf("deviceid=%s&key=%s&location=52.6,13.5&timestamp=%d", dev.Ident, token, at.Add(time.Minute).UnixMilli())
		if res := f.sendOsmAnd("POST", "/", "application/x-www-form-urlencoded", form); res.Code != http.StatusOK {
			t.Fatalf("form body: %d %s", res.Code, res.Body)
		}
		js := fmt.Sprintf(`{"device_id":"%s","location":{"timestamp":"%s","coords":{"latitude":52.7,"longitude":13.6,"speed":5},"is_moving":true,"battery":{"level":0.5}}}`,
			dev.Ident, at.Add(2*time.Minute).Format(time.RFC3339))
		if res := f.sendOsmAnd("POST", "/?key="+token, "application/json", js); res.Code != http.StatusOK {
			t.Fatalf("JSON body: %d %s", res.Code, res.Body)
		}
		for _, c := range []struct {
			name, method, target, ctype, body string
			status                            int
		}{
			{"NoID", "GET", "/?lat=1&lon=1", "", "", 400},
			{"BadLatitude", "GET", "/?id=" + dev.Ident + "&key=" + token + "&lat=91&lon=1", "", "", 400},
			{"Battery500", "GET", "/?id=" + dev.Ident + "&key=" + token + "&lat=1&lon=1&batt=500", "", "", 400},
			{"Speed1e300", "GET", "/?id=" + dev.Ident + "&key=" + token + "&lat=1&lon=1&speed=1e300", "", "", 400},
			{"LatAndLAT", "GET", "/?id=" + dev.Ident + "&key=" + token + "&lat=1&LAT=2&lon=1", "", "", 400},
			{"MalformedJSON", "POST", "/", "application/json", `{"device_id":`, 400},
			{"Method", "PUT", "/?id=" + dev.Ident, "", "", 405},
		} {
			if res := f.sendOsmAnd(c.method, c.target, c.ctype, c.body); res.Code != c.status {
				t.Errorf("%s: got %d %s, want %d", c.name, res.Code, res.Body, c.status)
			}
		}
		latest := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+dev.Ident+"/latest", "").Body.String()
		for _, want := range []string{`"lat":52.7`, `"speed_kmh":18`, `"battery_pct":{"value":50`, `"points":3`} {
			if !strings.Contains(latest, want) {
				t.Errorf("latest lacks %s: %s", want, latest)
			}
		}
	})
	t.Run("OsmAndRefusalsAnswerAlike", func(t *testing.T) {
		// Whether an ident exists must not show: an unknown ident, a known
		// one without its key or with another's, and an unassigned one get
		// the very same answer, and nothing is stored.
		dev, token := f.mustDevice(t, a.t)
		other, otherToken := f.mustDevice(t, a.t)
		loose, looseToken := f.mustDevice(t, nil)
		basic := func(user, password string) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
		}
		query := func(ident, key string) string { return "/?id=" + ident + "&key=" + key + "&lat=1&lon=1" }
		jsonBody := func(ident string) string {
			return `{"device_id":"` + ident + `","location":{"coords":{"latitude":1,"longitude":1}}}`
		}
		type request struct{ method, target, ctype, body, authorization string }
		refused := func(reason string) float64 {
			return testutil.ToFloat64(f.metrics.Refused.WithLabelValues("osmand", reason))
		}
		unknownBefore, unauthorizedBefore := refused(metrics.UnknownDevice), refused(metrics.Unauthorized)
		var first *httptest.ResponseRecorder
		for name, r := range map[string]request{
			"UnknownQuery":     {"GET", "/?id=nobody&lat=1&lon=1", "", "", ""},
			"UnknownWithKey":   {"GET", query("nobody", token), "", "", ""},
			"KnownNoKey":       {"GET", "/?id=" + dev.Ident + "&lat=1&lon=1", "", "", ""},
			"KnownWrongKey":    {"GET", query(dev.Ident, "qmd_wrong"), "", "", ""},
			"KnownOthersKey":   {"GET", query(dev.Ident, otherToken), "", "", ""},
			"UnassignedKey":    {"GET", query(loose.Ident, looseToken), "", "", ""},
			"FormNoKey":        {"POST", "/", "application/x-www-form-urlencoded", "id=" + dev.Ident + "&lat=1&lon=1", ""},
			"UnknownJSON":      {"POST", "/", "application/json", jsonBody("nobody"), ""},
			"KnownJSONNoKey":   {"POST", "/", "application/json", jsonBody(dev.Ident), ""},
			"BasicWrongPass":   {"GET", "/?id=" + dev.Ident + "&lat=1&lon=1", "", "", basic(dev.Ident, "qmd_wrong")},
			"BasicOtherUser":   {"GET", "/?id=" + dev.Ident + "&lat=1&lon=1", "", "", basic(other.Ident, otherToken)},
			"BasicUnknownUser": {"GET", "/?id=nobody&lat=1&lon=1", "", "", basic("nobody", token)},
		} {
			req := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
			if r.ctype != "" {
				req.Header.Set("Content-Type", r.ctype)
			}
			if r.authorization != "" {
				req.Header.Set("Authorization", r.authorization)
			}
			res := httptest.NewRecorder()
			f.osmand.ServeHTTP(res, req)
			if res.Code != http.StatusUnauthorized {
				t.Errorf("%s: got %d %s, want 401", name, res.Code, res.Body)
			}
			if first == nil {
				first = res
			} else if res.Body.String() != first.Body.String() || res.Header().Get("WWW-Authenticate") != first.Header().Get("WWW-Authenticate") {
				t.Errorf("%s: answered %q, another refusal %q", name, res.Body, first.Body)
			}
		}
		// The metrics still tell the operator why: 3 unknown or unassigned
		// devices, 9 missing or wrong keys.
		if got := refused(metrics.UnknownDevice) - unknownBefore; got != 3 {
			t.Errorf("counted %v refusals as unknown devices, want 3", got)
		}
		if got := refused(metrics.Unauthorized) - unauthorizedBefore; got != 9 {
			t.Errorf("counted %v refusals as unauthorized, want 9", got)
		}
		for _, id := range []string{dev.Ident, other.Ident} {
			if res := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices/"+id+"/latest", ""); res.Code != http.StatusNotFound {
				t.Errorf("a refused request stored a point of %s: %d %s", id, res.Code, res.Body)
			}
		}
		// The key as the Basic password, the ident as the user, is taken;
		// so is the key parameter beside a Basic user with no password.
		// Two different keys are an error of the sender's.
		for _, c := range []struct {
			target, authorization string
			want                  int
		}{
			{"/?id=" + dev.Ident + "&lat=1&lon=1", basic(dev.Ident, token), http.StatusOK},
			{query(dev.Ident, token), basic(dev.Ident, ""), http.StatusOK},
			{query(dev.Ident, token), basic(dev.Ident, otherToken), http.StatusBadRequest},
		} {
			req := httptest.NewRequest("GET", c.target, nil)
			req.Header.Set("Authorization", c.authorization)
			res := httptest.NewRecorder()
			f.osmand.ServeHTTP(res, req)
			if res.Code != c.want {
				t.Errorf("%s with %s: got %d %s, want %d", c.target, c.authorization, res.Code, res.Body, c.want)
			}
		}
		// A device the operator marks ident-only reports without a key,
		// and stops when the mark is taken off.
		yes, no := true, false
		for _, c := range []struct {
			identOnly *bool
			want      int
		}{{&yes, http.StatusOK}, {&no, http.StatusUnauthorized}} {
			if res := f.do(t, f.operator, "PATCH", "/api/v1/operator/devices/"+other.Ident, fmt.Sprintf(`{"ident_only":%v}`, *c.identOnly)); res.Code != http.StatusOK {
				t.Fatalf("mark ident-only %v: %d %s", *c.identOnly, res.Code, res.Body)
			}
			if res := f.sendOsmAnd("GET", "/?id="+other.Ident+"&lat=1&lon=1", "", ""); res.Code != c.want {
				t.Errorf("ident-only %v: got %d %s, want %d", *c.identOnly, res.Code, res.Body, c.want)
			}
			want := fmt.Sprintf(`"ident_only":%v`, *c.identOnly)
			for _, list := range []string{
				f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices", "").Body.String(),
				f.do(t, f.operator, "GET", "/api/v1/operator/devices?tenant=tenant-a", "").Body.String(),
			} {
				if i := strings.Index(list, `"ident":"`+other.Ident+`"`); i < 0 || !strings.Contains(list[i:], want) {
					t.Errorf("a list does not show %s for %s: %s", want, other.Ident, list)
				}
			}
		}
	})
	t.Run("AssetSearchAndFilters", func(t *testing.T) {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/models",
			`{"name":"Dock 2","category_id":"`+a.refs["categories"].ID+`","manufacturer_id":"`+a.refs["manufacturers"].ID+`"}`)
		model := between(res.Body.String(), `"id":"`, `"`)
		res = f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets",
			`{"model_id":"`+model+`","tag":"DOCK-7","notes":"50%_off","purchase_date":"2025-01-31","warranty_months":1}`)
		dock := between(res.Body.String(), `"id":"`, `"`)
		if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"warranty_end":"2025-03-02"`) {
			t.Fatalf("create: %d %s", res.Code, res.Body)
		}
		if res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/"+dock+"/checkout", `{"holder_type":"user","holder_id":"`+a.viewerID+`"}`); res.Code != http.StatusOK {
			t.Fatalf("check out: %d %s", res.Code, res.Body)
		}
		for _, tc := range []struct {
			query string
			want  []string // tags, in order
		}{
			{"q=50%25_off&manufacturer_id=" + a.refs["manufacturers"].ID + "&holder_type=user&holder_id=" + a.viewerID + "&warranty_before=2025-03-03", []string{"DOCK-7"}},
			{"q=50%25+off", nil}, // % and _ are themselves
			{"warranty_before=2025-03-02", nil},
			{"holder_type=location", nil},
			{"manufacturer_id=" + f.b.refs["manufacturers"].ID, nil},
			{"q=sn-tenant-", []string{a.asset.Tag}}, // B's fixture asset matches too, and stays B's
			{"q=sN", []string{a.asset.Tag}},
		} {
			var page struct {
				Assets []struct{ Tag string }
				Total  int
			}
			res := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/assets?"+tc.query, "")
			json.Unmarshal(res.Body.Bytes(), &page)
			var tags []string
			for _, x := range page.Assets {
				tags = append(tags, x.Tag)
			}
			if res.Code != http.StatusOK || page.Total != len(tc.want) || !slices.Equal(tags, tc.want) {
				t.Errorf("?%s: got %d %s, want tags %v", tc.query, res.Code, res.Body, tc.want)
			}
		}
		out := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/assets/export?holder_type=user&warranty_before=2026-01-01", "").Body.String()
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "DOCK-7,") {
			t.Fatalf("export with filters:\n%s", out)
		}
	})
	t.Run("AuditShowsWhoDidWhat", func(t *testing.T) {
		res := f.do(t, a.admin, "POST", "/api/v1/t/tenant-a/locations", `{"name":"Audited"}`)
		id := between(res.Body.String(), `"id":"`, `"`)
		log := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/audit?resource_id="+id, "").Body.String()
		for _, want := range []string{`"location.create"`, `"actor_name":"admin@tenant-a.example"`, `"remote_addr":"192.0.2.1"`, `"after":"Audited"`} {
			if !strings.Contains(log, want) {
				t.Errorf("audit log lacks %s: %s", want, log)
			}
		}
		tokens := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/audit?resource_type=token", "").Body.String()
		if strings.Count(tokens, `"token.create"`) < 2 || strings.Contains(tokens, "qmt_") {
			t.Errorf("token creations not audited, or a secret in the log: %s", tokens)
		}
	})
}
