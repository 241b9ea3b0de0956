package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "reset-password" {
		fmt.Fprintln(stderr, "usage: quartermaster user reset-password EMAIL   (prints a one-time link for the account's owner)")
		return errUsage
	}
	fs, c := newFlagSet("user reset-password", stderr)
	public := publicURLFlag(fs)
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: quartermaster user reset-password EMAIL")
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	secret, expires, err := auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants()}).IssueReset(ctx, pos[0])
	if qm.ErrorCode(err) == qm.ENotFound {
		return qm.Errorf(qm.ENotFound, "no account with email %q", pos[0])
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "one-time password reset for %s, valid until %s; give it to the account's owner only:\n",
		qm.NormalizeEmail(pos[0]), expires.UTC().Format(time.RFC3339))
	fmt.Fprintln(stdout, strings.TrimSuffix(*public, "/")+auth.ResetPath(secret))
	return nil
}

// publicURLFlag declares --public-url, which starts the links a command
// prints.
func publicURLFlag(fs *flag.FlagSet) *string {
	return fs.String("public-url", envOr("QM_PUBLIC_URL", ""), "where users reach the server, to start the printed link (QM_PUBLIC_URL)")
}

// invite invites email to tenant t with role, as the operator at the command
// line, and prints the invitation's one-time link.
func invite(ctx context.Context, e engine, t *qm.Tenant, email, role, publicURL string, stdout, stderr io.Writer) error {
	ctx = tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), cliOperator)
	inv, err := dataplane.NewInvitationStore(e.Identity(), e, e.Tenants(), password.Hash, publicURL, time.Now).
		Invite(ctx, qm.NewInvitation{Email: email, Role: role})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "invited %s to %s as %s until %s; the link is shown this once:\n", inv.Email, t.Slug, inv.Role, inv.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(stdout, inv.Link)
	return nil
}
