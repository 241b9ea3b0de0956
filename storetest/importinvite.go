package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// inviteCSV checks two assets out to a person who is not a member, by
// email (spelt two ways), and one to a person named only by user name.
const inviteCSV = "Asset Tag,Model Name,Category,Checkout Type,Checked Out To: Email,Checked Out To: Username\n" +
	"INV-1,Latitude 5440,Laptops,user,New.Person@example.com,\n" +
	"INV-2,Latitude 5440,Laptops,user,new.person@example.com,\n" +
	"INV-3,Latitude 5440,Laptops,user,,jdoe\n"

// testInviteMissingUsers checks qm.ImportOptions.InviteMissingUsers: an
// import that commits invites each holder with an email who is not a
// member, once, to check out their assets on accepting; a dry run, or an
// import without the option, invites nobody; only whoever may invite with
// the role offered can ask for it.
func testInviteMissingUsers(t *testing.T, h Harness, e Engine) {
	tn, ctx := MustTenant(t, e, h.Tier, "import-invite")
	invitations := dataplane.NewInvitationStore(e.Identity(), e, e.Tenants(), func(p string) (string, error) { return "hash:" + p, nil }, "", clock())
	s := dataplane.NewAssetStore(e, e.Identity(), clock()).WithInvitations(invitations)
	open := func(t *testing.T) []*qm.Invitation {
		t.Helper()
		is, err := invitations.Invitations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	invite := qm.ImportOptions{InviteMissingUsers: true}

	t.Run("DryRunInvitesNobody", func(t *testing.T) {
		rep, err := importFile(ctx, s, inviteCSV, qm.ImportOptions{InviteMissingUsers: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []qm.ImportInvitation{{Email: "new.person@example.com", Lines: []int{2, 3}, Assets: 2}}
		if !slices.EqualFunc(rep.Invitations, want, func(a, b qm.ImportInvitation) bool {
			return a.Email == b.Email && slices.Equal(a.Lines, b.Lines) && a.Assets == b.Assets && a.Link == "" && a.Error == ""
		}) {
			t.Fatalf("dry run: got %+v, want %+v", rep.Invitations, want)
		}
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], `"jdoe"`) || !strings.Contains(rep.Warnings[0], "not invited") {
			t.Fatalf("warnings: got %q, want one saying jdoe could not be invited, and why", rep.Warnings)
		}
		if is := open(t); len(is) != 0 {
			t.Fatalf("a dry run made invitations: %+v", is)
		}
	})
	t.Run("WithoutTheOptionNobody", func(t *testing.T) {
		rep, err := importFile(ctx, s, inviteCSV, qm.ImportOptions{})
		if err != nil || !rep.Committed || rep.Created != 3 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		if len(rep.Invitations) != 0 || len(rep.Warnings) != 2 {
			t.Fatalf("got invitations %+v, warnings %q; want none, and a warning for each person", rep.Invitations, rep.Warnings)
		}
		if is := open(t); len(is) != 0 {
			t.Fatalf("an import without the option made invitations: %+v", is)
		}
	})
	t.Run("OnlyWhoMayInvite", func(t *testing.T) {
		technician, _ := qm.BuiltInRole("technician")
		people := qm.Role{Name: "people", Permissions: []qm.Permission{qm.PermAssetsRead, qm.PermAssetsWrite, qm.PermUsersManage}}
		for _, c := range []struct {
			name string
			role qm.Role
			opts qm.ImportOptions
			code string
		}{
			{"NoUsersManage", technician, invite, qm.EForbidden},
			{"RoleNotCovered", people, qm.ImportOptions{InviteMissingUsers: true, InviteRole: "manager"}, qm.EForbidden},
			{"UnknownRole", people, qm.ImportOptions{InviteMissingUsers: true, InviteRole: "nobody"}, qm.EInvalid},
			{"RoleWithoutTheOption", people, qm.ImportOptions{InviteRole: "viewer"}, qm.EInvalid},
		} {
			t.Run(c.name, func(t *testing.T) {
				as := tenancy.WithPrincipal(ctx, &qm.Principal{Kind: qm.PrincipalUser, ID: "u1", Name: "u1@example.com", Role: c.role})
				rep, err := importFile(as, s, strings.ReplaceAll(inviteCSV, "INV-", "DENY-"), c.opts)
				wantCode(t, err, c.code)
				if rep != nil && rep.Committed {
					t.Fatal("the import committed")
				}
				if is := open(t); len(is) != 0 {
					t.Fatalf("invitations made: %+v", is)
				}
			})
		}
	})
	t.Run("InvitedAndCheckedOutOnAccepting", func(t *testing.T) {
		rep, err := importFile(ctx, s, inviteCSV, invite)
		if err != nil || !rep.Committed || rep.Updated != 3 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		if len(rep.Invitations) != 1 || rep.Invitations[0].Email != "new.person@example.com" || rep.Invitations[0].Assets != 2 ||
			!strings.HasPrefix(rep.Invitations[0].Link, qm.InvitationPath(qm.InvitationPrefix)) {
			t.Fatalf("invitations: got %+v, want one, with its link", rep.Invitations)
		}
		ids := map[string]string{}
		p, err := s.Assets(ctx, qm.AssetFilter{Q: "INV-"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Assets {
			ids[a.Tag] = a.ID
		}
		is := open(t)
		if len(is) != 1 || is[0].Email != "new.person@example.com" || is[0].Role != qm.DefaultInviteRole ||
			!slices.Equal(is[0].CheckOut, []string{ids["INV-1"], ids["INV-2"]}) {
			t.Fatalf("got %+v; want one invitation as %s checking out INV-1 and INV-2 (%v)", is, qm.DefaultInviteRole, ids)
		}
		secret := strings.TrimPrefix(rep.Invitations[0].Link, qm.InvitationPath(""))
		acc, err := invitations.Accept(context.Background(), secret, qm.Acceptance{Name: "New Person", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(acc.CheckedOut, is[0].CheckOut) {
			t.Fatalf("checked out on accepting: got %v, want %v", acc.CheckedOut, is[0].CheckOut)
		}
		for tag, want := range map[string]string{"INV-1": acc.User.ID, "INV-2": acc.User.ID, "INV-3": ""} {
			if a, err := s.Asset(ctx, ids[tag]); err != nil || a.HolderID != want {
				t.Fatalf("%s: got %+v, %v; want it held by %q", tag, a, err, want)
			}
		}
		if _, err := e.Identity().Membership(context.Background(), tn.ID, acc.User.ID); err != nil {
			t.Fatalf("membership: %v", err)
		}
	})
	t.Run("RefusedInvitationKeepsTheImport", func(t *testing.T) {
		// More assets than one invitation checks out: the import has
		// committed when the invitation is refused, and stands.
		var csv strings.Builder
		csv.WriteString("Asset Tag,Model Name,Category,Checkout Type,Checked Out To: Email\n")
		for i := range qm.MaxInvitationCheckOuts + 1 {
			fmt.Fprintf(&csv, "BULK-%d,Latitude 5440,Laptops,user,bulk@example.com\n", i)
		}
		rep, err := importFile(ctx, s, csv.String(), invite)
		if err != nil || !rep.Committed || rep.Created != qm.MaxInvitationCheckOuts+1 {
			t.Fatalf("got %+v, %v; want every row imported", rep.Invitations, err)
		}
		if len(rep.Invitations) != 1 || rep.Invitations[0].Error == "" || rep.Invitations[0].Link != "" ||
			len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[len(rep.Warnings)-1], "bulk@example.com could not be invited") {
			t.Fatalf("got %+v, warnings %q; want the invitation refused, and said so", rep.Invitations, rep.Warnings)
		}
		for _, inv := range open(t) {
			if inv.Email == "bulk@example.com" {
				t.Fatalf("invitation made: %+v", inv)
			}
		}
	})
	t.Run("RealExport", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-invite-real")
		f, err := os.Open(RealExport())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		opts := RealExportOptions
		opts.InviteMissingUsers = true
		r, err := assetcsv.NewReader(f, opts)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Import(ctx, s)
		if err != nil || !rep.Committed || rep.Created != 7 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		got := map[string]int{}
		for _, inv := range rep.Invitations {
			if inv.Link == "" || inv.Error != "" {
				t.Fatalf("invitation %+v: want it made, with its link", inv)
			}
			got[inv.Email] = inv.Assets
		}
		want := map[string]int{"zbronte@contractors.example": 2, "jgross@contractors.example": 1, "apereira@contractors.example": 2}
		if len(got) != len(want) || len(rep.Invitations) != len(want) {
			t.Fatalf("invitations: got %v, want %v", got, want)
		}
		for email, n := range want {
			if got[email] != n {
				t.Fatalf("invitations: got %v, want %v", got, want)
			}
		}
		is, err := invitations.Invitations(ctx)
		if err != nil || len(is) != 3 {
			t.Fatalf("got %d invitations, %v; want 3", len(is), err)
		}
		if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "columns not imported") {
			t.Fatalf("warnings: got %q, want only the columns not imported", rep.Warnings)
		}
	})
}
