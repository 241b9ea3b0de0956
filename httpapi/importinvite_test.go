package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

// TestImportInvitesMissingUsers: with invite_missing_users=true an import
// that commits invites each holder with an email who is not a member, the
// link in the report, and accepting it checks their assets out to them; a
// dry run invites nobody; only a caller who may invite with the role
// offered can ask for it; a job's report keeps no link.
func TestImportInvitesMissingUsers(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			a := f.a
			const csv = "Asset Tag,Model Name,Status,Checkout Type,Checked Out To: Email\n" +
				"HIRE-1,Fixture model,Ready to Deploy,user,hire@example.com\n" +
				"HIRE-2,Fixture model,Ready to Deploy,user,hire@example.com\n"
			post := func(who principal, path, query string) (*http.Response, string) {
				t.Helper()
				res := f.doType(t, who, "POST", "/api/v1/t/tenant-a/"+path+query, csv, "text/csv")
				return res.Result(), res.Body.String()
			}
			invited := func() bool {
				t.Helper()
				res := f.do(t, a.admin, "GET", "/api/v1/t/tenant-a/invitations", "")
				mustStatus(t, res, http.StatusOK, "list invitations")
				return strings.Contains(res.Body.String(), "hire@example.com")
			}
			report := func(body string) qm.ImportReport {
				t.Helper()
				var rep qm.ImportReport
				if err := json.Unmarshal([]byte(body), &rep); err != nil {
					t.Fatalf("%v: %s", err, body)
				}
				return rep
			}

			_, technician := f.mustMember(t, a, "tech@tenant-a.example", "technician")
			for _, c := range []struct {
				name   string
				who    principal
				query  string
				status int
			}{
				{"ViewerToken", a.viewerToken, "?invite_missing_users=true", http.StatusForbidden},
				{"NoUsersManage", technician, "?invite_missing_users=true", http.StatusForbidden},
				{"UnknownRole", a.admin, "?invite_missing_users=true&invite_role=emperor", http.StatusUnprocessableEntity},
				{"RoleWithoutInviting", a.admin, "?invite_role=viewer", http.StatusUnprocessableEntity},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := f.snapshot(t, a)
					if res, body := post(c.who, "assets/import", c.query); res.StatusCode != c.status {
						t.Fatalf("got %d %s, want %d", res.StatusCode, body, c.status)
					}
					if f.snapshot(t, a) != before || invited() {
						t.Fatal("a refused import changed data or invited someone")
					}
				})
			}
			t.Run("DryRun", func(t *testing.T) {
				res, body := post(a.admin, "assets/import", "?invite_missing_users=true&dry_run=true")
				rep := report(body)
				if res.StatusCode != http.StatusOK || len(rep.Invitations) != 1 || rep.Invitations[0].Assets != 2 || rep.Invitations[0].Link != "" {
					t.Fatalf("got %d %s, want who would be invited, without a link", res.StatusCode, body)
				}
				if invited() {
					t.Fatal("a dry run made an invitation")
				}
			})
			t.Run("Job", func(t *testing.T) {
				res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/imports?invite_missing_users=true", csv, "text/csv")
				mustStatus(t, res, http.StatusAccepted, "start the job")
				job := f.waitImport(t, a.viewer, res.Header().Get("Location"))
				if job.Status != qm.ImportDone || job.Report == nil || len(job.Report.Invitations) != 1 || job.Report.Invitations[0].Link != "" {
					t.Fatalf("job: %+v, want done, the invitation listed without its link", job)
				}
				if !invited() {
					t.Fatal("the job invited nobody")
				}
			})
			t.Run("AcceptChecksOut", func(t *testing.T) {
				res := f.doType(t, a.admin, "POST", "/api/v1/t/tenant-a/assets/import?invite_missing_users=true&invite_role=technician", csv, "text/csv")
				rep := report(res.Body.String())
				if res.Code != http.StatusOK || !rep.Committed || len(rep.Invitations) != 1 || rep.Invitations[0].Email != "hire@example.com" ||
					rep.Invitations[0].Assets != 2 || !strings.Contains(rep.Invitations[0].Link, "/invite/"+qm.InvitationPrefix) {
					t.Fatalf("got %d %s, want one invitation with its link", res.Code, res.Body)
				}
				accepted := f.do(t, principal{}, "POST", "/api/v1/invitations/"+linkSecret(res)+"/accept", `{"name":"Hire","password":"my first day here"}`)
				mustStatus(t, accepted, http.StatusOK, "accept")
				hire := sessionOf(t, "hire", accepted)
				var reply struct {
					User       qm.User `json:"user"`
					Tenant     qm.TenantMembership
					CheckedOut []string `json:"checked_out"`
				}
				if err := json.Unmarshal(accepted.Body.Bytes(), &reply); err != nil || len(reply.CheckedOut) != 2 || reply.Tenant.Role != "technician" {
					t.Fatalf("accepted: %s, want 2 assets checked out, as technician", accepted.Body)
				}
				list := f.do(t, hire, "GET", "/api/v1/t/tenant-a/assets?holder_type=user&holder_id="+reply.User.ID, "")
				if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), `"HIRE-1"`) || !strings.Contains(list.Body.String(), `"HIRE-2"`) {
					t.Fatalf("the assets held: %d %s, want HIRE-1 and HIRE-2", list.Code, list.Body)
				}
			})
		})
	}
}
