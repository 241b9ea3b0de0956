package dataplane

import (
	"context"
	"fmt"

	"github.com/quartermaster/qm"
)

// WithInvitations returns a copy of s whose imports can invite the people
// they check assets out to who are not members
// (qm.ImportOptions.InviteMissingUsers), through invitations.
func (s *AssetStore) WithInvitations(invitations qm.InvitationService) *AssetStore {
	c := *s
	c.invitations = invitations
	return &c
}

// inviteOptions checks the options that invite, and fills in the role.
func (s *AssetStore) inviteOptions(opts *qm.ImportOptions) error {
	switch {
	case !opts.InviteMissingUsers && opts.InviteRole != "":
		return &qm.Error{Code: qm.EInvalid, Message: "a role to invite as is for inviting missing users: ask for that too",
			Fields: map[string]string{"invite_role": "only with invite_missing_users"}}
	case !opts.InviteMissingUsers:
		return nil
	case s.invitations == nil:
		return fmt.Errorf("import: this store cannot invite (no invitation service)")
	}
	if opts.InviteRole == "" {
		opts.InviteRole = qm.DefaultInviteRole
	}
	return nil
}

// invitees are the people an import invites: those its good rows check
// assets out to who are not members, by lower-case name, in the order the
// file first names them.
type invitees struct {
	order []string
	by    map[string]*invitee
}

// invitee is one person an import invites, and the assets that are theirs
// once they accept.
type invitee struct {
	ids   []string
	lines []int
	// listed says the report's Invitations has them: the file gives an
	// email.
	listed bool
}

// loadInvitees checks, before anything is written, that the importer may
// invite with the role asked for (the rule every invitation follows), so
// an import cannot commit only to have every invitation refused.
func (im *importer) loadInvitees() error {
	if !im.opts.InviteMissingUsers {
		return nil
	}
	if _, err := mayInvite(im.ctx, im.s.identity, im.c, im.opts.InviteRole); err != nil {
		return err
	}
	im.invitees = &invitees{by: map[string]*invitee{}}
	return nil
}

// add notes a good row's asset as its holder's, when its holder is not a
// member. A nil iv (not inviting) notes nothing.
func (iv *invitees) add(p *pending) {
	if iv == nil || p.missing == "" {
		return
	}
	who := iv.by[p.missing]
	if who == nil {
		who = &invitee{}
		iv.by[p.missing] = who
		iv.order = append(iv.order, p.missing)
	}
	who.ids = append(who.ids, p.after.ID)
	if len(who.lines) < maxHolderLines {
		who.lines = append(who.lines, p.line)
	}
}

// made reports whether the person the file names name is invited.
func (iv *invitees) made(name string) bool {
	if iv == nil {
		return false
	}
	who := iv.by[qm.NormalizeEmail(name)]
	return who != nil && who.listed
}

// whyNot says, to end the warning of a person with assets who is not
// invited, why not.
func (iv *invitees) whyNot(name string) string {
	if iv == nil || iv.by[qm.NormalizeEmail(name)] == nil {
		return ""
	}
	return "; they were not invited: an invitation goes to an email, and the file gives none for them"
}

// planInvitations lists in the report the invitations the import makes
// once it commits (or, when it does not, would make): one for each person
// with assets the file gives an email for.
func (im *importer) planInvitations() {
	if im.invitees == nil {
		return
	}
	for _, name := range im.invitees.order {
		who := im.invitees.by[name]
		if qm.ValidateEmail(name) != nil {
			continue
		}
		who.listed = true
		im.rep.Invitations = append(im.rep.Invitations, qm.ImportInvitation{Email: name, Lines: who.lines, Assets: len(who.ids)})
	}
}

// invite makes the invitations the report lists, through the one
// invitation service, after the import committed. Not inside the import's
// transaction, because none can hold both: invitations live in the
// catalog, a database apart from the tenant's data on every engine and
// tier, and the service writes each in its own transaction of the tenant
// (for its audit entry), which on SQLite would wait for the import's, the
// one writer, forever; and it checks each asset to check out is there,
// which another transaction sees only once the import committed. After
// commit, a failed import makes no invitations, and an invitation refused
// loses nothing: the import stands, its assets stay unassigned, and the
// report says why.
func (s *AssetStore) invite(ctx context.Context, im *importer) {
	if im.invitees == nil {
		return
	}
	for i := range im.rep.Invitations {
		inv := &im.rep.Invitations[i]
		made, err := s.invitations.Invite(ctx, qm.NewInvitation{Email: inv.Email, Role: im.opts.InviteRole, DepartmentID: im.c.Department(),
			CheckOut: im.invitees.by[inv.Email].ids})
		if err != nil {
			inv.Error = qm.ErrorMessage(err)
			im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("%s could not be invited (%s): their %d assets are imported unassigned",
				inv.Email, inv.Error, inv.Assets))
			continue
		}
		inv.Link = made.Link
	}
}
