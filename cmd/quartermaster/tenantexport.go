package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
)

// tenantExport writes a tenant to an archive file: gzipped when the name
// ends in .gz or .tgz, or to stdout for "-". The file appears under its
// name only once it is whole.
func tenantExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant export", stderr)
	out := fs.String("o", "", "the archive to write (FILE.qmx, FILE.qmx.gz to gzip it, - for stdout)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(stderr, "usage: quartermaster tenant export SLUG -o FILE")
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	if _, err := e.Tenants().Tenant(ctx, pos[0]); err != nil {
		return noTenant(pos[0], err)
	}

	var w io.Writer = stdout
	var file *os.File
	if *out != "-" {
		// A temporary name beside the target: the rename is atomic, and a
		// failed export leaves nothing that looks like an archive.
		if file, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*"); err != nil {
			return err
		}
		defer os.Remove(file.Name())
		defer file.Close()
		w = file
	}
	buf := bufio.NewWriterSize(w, 1<<16)
	w = buf
	var zw *gzip.Writer
	if strings.HasSuffix(*out, ".gz") || strings.HasSuffix(*out, ".tgz") {
		zw = gzip.NewWriter(buf)
		w = zw
	}
	start := time.Now()
	m, err := lifecycle.Export(ctx, e, pos[0], w, lifecycle.ExportOptions{Progress: progressTo(stderr)})
	if err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(file.Name(), *out); err != nil {
			return err
		}
	}
	var rows int64
	tables := 0
	for _, f := range m.Files {
		if f.Table != "" {
			rows += f.Rows
			tables++
		}
	}
	fmt.Fprintf(stderr, "exported tenant %s (%s %s, schema version %d): %d rows in %d tables to %s in %v\n",
		m.Slug, m.Engine, m.Tier, m.SchemaVersion, rows, tables, *out, time.Since(start).Round(time.Millisecond))
	return nil
}

// progressTo prints each table done as [n/total] table rows.
func progressTo(w io.Writer) func(lifecycle.Progress) {
	return func(p lifecycle.Progress) {
		fmt.Fprintf(w, "[%d/%d] %s %d\n", p.N, p.Total, p.Table, p.Rows)
	}
}

// tenantImport makes a new tenant of an archive, and prints what became of
// its people and devices: new invitation links, device credentials and
// webhook secrets are printed this once.
func tenantImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant import", stderr)
	slug := fs.String("slug", "", "the new tenant's slug")
	name := fs.String("name", "", "the new tenant's display name (default: the archive's)")
	tier := fs.String("tier", "", "isolation tier: pool, bridge or silo (default: the archive's)")
	server := fs.String("server", "", "PostgreSQL server for a silo tenant (a --pg-server name)")
	asJSON := fs.Bool("json", false, "print the tenant and the report as JSON")
	public := publicURLFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *slug == "" {
		fmt.Fprintln(stderr, "usage: quartermaster tenant import FILE --slug NEW [--tier pool|bridge|silo] [--server NAME]")
		return errUsage
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	start := time.Now()
	t, rep, err := lifecycle.Import(ctx, e, f, lifecycle.ImportOptions{Slug: *slug, Name: *name, Tier: qm.Tier(*tier), Server: *server,
		Progress: progressTo(stderr)})
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(*public, "/")
	for i := range rep.Invited {
		rep.Invited[i].Link = base + rep.Invited[i].Link
	}
	if *asJSON {
		return printJSON(stdout, struct {
			Tenant *qm.Tenant             `json:"tenant"`
			Report lifecycle.ImportReport `json:"report"`
		}{t, rep})
	}
	var rows int64
	for _, tr := range rep.Tables {
		rows += tr.Rows
	}
	fmt.Fprintf(stdout, "imported tenant %s (%s) on tier %s at %s: %d rows in %d tables, verified, in %v\n",
		t.Slug, t.ID, t.Tier, where(t), rows, len(rep.Tables), time.Since(start).Round(time.Millisecond))
	for _, m := range rep.Members {
		fmt.Fprintf(stdout, "member %s: a member again\n", m)
	}
	if len(rep.Invited) > 0 {
		fmt.Fprintln(stdout, "invited (no account here, or invited in the archive); each link is shown this once:")
		for _, inv := range rep.Invited {
			fmt.Fprintf(stdout, "  %s as %s: %s\n", inv.Email, inv.Role, inv.Link)
		}
	}
	var skipped []string
	for _, d := range rep.Devices {
		if d.Token == "" {
			skipped = append(skipped, fmt.Sprintf("  %s: %s", d.Ident, d.Skipped))
			continue
		}
		fmt.Fprintf(stdout, "device %s assigned; its new credential, shown this once: %s\n", d.Ident, d.Token)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "devices not assigned (their history is imported):\n%s\n", strings.Join(skipped, "\n"))
	}
	for _, w := range rep.Webhooks {
		fmt.Fprintf(stdout, "webhook channel %q has a new signing secret, shown this once: %s\n", w.Channel, w.Secret)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}
