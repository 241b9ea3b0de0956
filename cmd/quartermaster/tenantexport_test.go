package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTenantExportImport: an operator exports a tenant to a gzipped file,
// with progress on stderr, and imports it under a new slug as a silo
// tenant, which serves the same assets; a damaged file is refused and
// leaves no tenant.
func TestTenantExportImport(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme", "--admin", "boss@acme.example"}, flags...)...)
	csv := filepath.Join(t.TempDir(), "assets.csv")
	if err := os.WriteFile(csv, []byte("Asset Tag,Model,Category\nA-1,Latitude,Laptops\nA-2,Latitude,Laptops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append([]string{"assets", "import", "--tenant", "acme", csv}, flags...)...)

	archive := filepath.Join(t.TempDir(), "acme.qmx.gz")
	_, stderr, err := runCLI(t, append([]string{"tenant", "export", "acme", "-o", archive}, flags...)...)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "] assets 2\n") || !strings.Contains(stderr, "[1/") || !strings.Contains(stderr, "exported tenant acme") {
		t.Fatalf("export said %q; want progress and a summary", stderr)
	}
	if b, err := os.ReadFile(archive); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("the archive: %v; want a gzip file", err)
	}

	out := mustRun(t, append([]string{"tenant", "import", archive, "--slug", "acme2", "--tier", "silo", "--public-url", "https://qm.example/"}, flags...)...)
	if !strings.Contains(out, "imported tenant acme2") || !strings.Contains(out, "verified") ||
		!strings.Contains(out, "boss@acme.example as admin: https://qm.example/invite/qmi_") {
		t.Fatalf("import printed %q; want the tenant and the invitation's new link", out)
	}
	show := mustRun(t, append([]string{"tenant", "show", "acme2"}, flags...)...)
	if !strings.Contains(show, "silo") || !strings.Contains(show, "active") {
		t.Fatalf("tenant show acme2: %q", show)
	}

	bad := filepath.Join(t.TempDir(), "bad.qmx")
	if err := os.WriteFile(bad, []byte("not an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, append([]string{"tenant", "import", bad, "--slug", "acme3"}, flags...)...)
	if err == nil || !strings.Contains(err.Error(), "not a Quartermaster tenant archive") {
		t.Fatalf("import of a damaged file: %v; want it refused", err)
	}
	if _, _, err := runCLI(t, append([]string{"tenant", "show", "acme3"}, flags...)...); err == nil {
		t.Fatal("the refused import left tenant acme3")
	}
}
