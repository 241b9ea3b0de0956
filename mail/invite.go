package mail

import (
	"context"
	"fmt"
	"html"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// Invitations is a qm.InvitationService that e-mails each new invitation's
// link to the person invited, whoever invites (a member, the operator, an
// asset checked out to someone not yet a member, an import). A mail that
// fails leaves the invitation made: the reply says why, and the inviter
// still has the link to pass on.
type Invitations struct {
	qm.InvitationService
	Sender *Sender
	From   string
}

// Invite implements qm.InvitationService.
func (m *Invitations) Invite(ctx context.Context, n qm.NewInvitation) (*qm.Invitation, error) {
	inv, err := m.InvitationService.Invite(ctx, n)
	if err != nil {
		return nil, err
	}
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	// Sent whole even when the inviter goes away: the invitation is made.
	if err := m.Sender.Send(context.WithoutCancel(ctx), invitationMessage(m.From, t, inv)); err != nil {
		inv.MailError = err.Error()
	} else {
		inv.Mailed = true
	}
	return inv, nil
}

// invitationMessage is the e-mail carrying inv's link to tenant t.
func invitationMessage(from string, t *qm.Tenant, inv *qm.Invitation) Message {
	expires := inv.ExpiresAt.UTC().Format("2 January 2006, 15:04 MST")
	text := fmt.Sprintf("%s invites you to join %s on Quartermaster as %s.\n\nTo accept, open this link (it works once, until %s):\n\n%s\n\nIf you did not expect this, ignore this message.\n",
		inv.InvitedBy, t.Name, inv.Role, expires, inv.Link)
	body := fmt.Sprintf(`<p>%s invites you to join <strong>%s</strong> on Quartermaster as %s.</p><p><a href="%s">Accept the invitation</a> (the link works once, until %s).</p><p>If you did not expect this, ignore this message.</p>`,
		html.EscapeString(inv.InvitedBy), html.EscapeString(t.Name), html.EscapeString(inv.Role), html.EscapeString(inv.Link), expires)
	return Message{From: from, To: []string{inv.Email}, Subject: fmt.Sprintf("Join %s on Quartermaster", t.Name), Text: text, HTML: body,
		Header: map[string]string{"Auto-Submitted": "auto-generated"}}
}
