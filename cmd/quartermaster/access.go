package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// cliOperator is who the command line acts as in tenants' audit logs.
var cliOperator = &qm.Principal{Kind: qm.PrincipalOperator, Name: "operator (command line)"}

func cmdOperator(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: quartermaster operator create --email EMAIL [--name NAME]   (the password is read from the terminal or stdin)")
		return errUsage
	}
	fs, c := newFlagSet("operator create", stderr)
	email := fs.String("email", "", "the operator's email address, used to sign in")
	name := fs.String("name", "", "display name (default: the email's local part)")
	if err := parseNone(fs, args[1:]); err != nil {
		return err
	}
	*email = qm.NormalizeEmail(*email)
	if err := qm.ValidateEmail(*email); err != nil {
		return err
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	u := &qm.User{Email: *email, Name: *name, Operator: true}
	if err := e.Identity().CreateUser(ctx, u, hash, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created operator %s (%s)\n", u.Email, u.ID)
	return nil
}

// readPassword reads a new password: twice, without echo, from a terminal;
// else the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var entered [2]string
		for i, prompt := range []string{"Password: ", "Again: "} {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			entered[i] = string(b)
		}
		if entered[0] != entered[1] {
			return "", errors.New("the passwords differ")
		}
		pw = entered[0]
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	return pw, qm.ValidatePassword(pw)
}

func cmdToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: quartermaster token create --tenant SLUG --role ROLE [--name NAME] [--expires 90d]")
		return errUsage
	}
	fs, c := newFlagSet("token create", stderr)
	slug := fs.String("tenant", "", "the tenant the token is bound to")
	role := fs.String("role", "", "the token's role: owner, admin, manager, technician or viewer")
	name := fs.String("name", "command line", "what the token is for")
	expires := fs.String("expires", "", "lifetime, such as 720h or 90d (default: no expiry)")
	if err := parseNone(fs, args[1:]); err != nil {
		return err
	}
	var expiresAt *time.Time
	if *expires != "" {
		d, err := parseLifetime(*expires)
		if err != nil {
			return err
		}
		t := time.Now().Add(d)
		expiresAt = &t
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	t, err := e.Tenants().Tenant(ctx, *slug)
	if err != nil {
		return fmt.Errorf("tenant %q: %w", *slug, err)
	}
	ctx = tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), cliOperator)
	tok, secret, err := dataplane.NewTokenStore(e.Identity(), e, time.Now).CreateToken(ctx, qm.NewAPIToken{Name: *name, Role: *role, ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "created token %s (%s) for tenant %s with role %s; it is shown this once:\n", tok.Name, tok.ID, t.Slug, tok.Role)
	fmt.Fprintln(stdout, secret)
	return nil
}

// parseLifetime reads a Go duration, or a whole number of days ("90d").
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("--expires: %q is not a lifetime such as 720h or 90d", s)
}
