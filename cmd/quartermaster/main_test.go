package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/storetest"
)

// runCLI runs a command line in-process and returns its output and error.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, stderr, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, describe(err), stderr)
	}
	return out
}

// storageFlags returns the flags selecting fresh storage on engine:
// "sqlite", "postgres", or "sqlite+postgres", a SQLite server with a
// PostgreSQL server called big to grow into.
func storageFlags(t *testing.T, engine string) []string {
	switch engine {
	case "postgres":
		return []string{"--database-url", pgtest.NewDatabase(t), "--pg-server", "other=" + pgtest.URL(t)}
	case "sqlite+postgres":
		return []string{"--data-dir", t.TempDir(), "--pg-server", "big=" + pgtest.NewDatabase(t)}
	}
	return []string{"--data-dir", t.TempDir()}
}

func TestTenantCommands(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			tiers := []string{"pool", "silo"}
			if engine == "postgres" {
				tiers = append(tiers, "bridge")
			}
			for _, tier := range tiers {
				out := mustRun(t, append([]string{"tenant", "create", "--slug", "acme-" + tier, "--name", "Acme " + tier, "--tier", tier, "--json"}, flags...)...)
				var created qm.Tenant
				if err := json.Unmarshal([]byte(out), &created); err != nil {
					t.Fatalf("create --json: %v in %q", err, out)
				}
				out = mustRun(t, append([]string{"tenant", "show", "acme-" + tier, "--json"}, flags...)...)
				var shown map[string]any
				if err := json.Unmarshal([]byte(out), &shown); err != nil {
					t.Fatal(err)
				}
				for _, field := range []string{"id", "slug", "name", "tier", "state", "schema_version"} {
					if _, ok := shown[field]; !ok {
						t.Errorf("tenant show --json has no %q: %s", field, out)
					}
				}
				if shown["id"] != created.ID || shown["tier"] != tier || shown["state"] != "active" {
					t.Errorf("show: got %v, want the created %+v", shown, created)
				}
				if engine == "sqlite" && tier == "silo" {
					if _, err := os.Stat(filepath.Join(flags[1], "tenants", created.ID+".db")); err != nil {
						t.Errorf("silo file: %v", err)
					}
				}
			}
			out := mustRun(t, append([]string{"tenant", "list"}, flags...)...)
			for _, tier := range tiers {
				if !strings.Contains(out, "acme-"+tier) {
					t.Errorf("tenant list lacks acme-%s:\n%s", tier, out)
				}
			}
			var listed []qm.Tenant
			if err := json.Unmarshal([]byte(mustRun(t, append([]string{"tenant", "list", "--json"}, flags...)...)), &listed); err != nil || len(listed) != len(tiers) {
				t.Fatalf("list --json: %d tenants, %v; want %d", len(listed), err, len(tiers))
			}
			if engine == "postgres" {
				out := mustRun(t, append([]string{"tenant", "create", "--slug", "far-away", "--name", "Far", "--tier", "silo", "--server", "other"}, flags...)...)
				if !strings.Contains(out, "on server other") {
					t.Errorf("silo on another server: %s", out)
				}
			}
			if out := mustRun(t, append([]string{"migrate"}, flags...)...); !strings.Contains(out, "no tenant needed migrating") {
				t.Errorf("migrate on a fresh install: %s", out)
			}
			out = mustRun(t, append([]string{"migrate", "--status"}, flags...)...)
			if !strings.Contains(out, "every tenant is at version") || strings.Contains(out, "citus: not installed") != (engine == "postgres") {
				t.Errorf("migrate --status: %s", out)
			}
		})
	}
}

func TestTenantCreateErrors(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme"}, flags...)...)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrSlugTaken", []string{"--slug", "acme", "--name", "Other"}, `a tenant with slug "acme" already exists`},
		{"ErrSlugShort", []string{"--slug", "ab", "--name", "x"}, "3 to 63 characters"},
		{"ErrSlugChars", []string{"--slug", "Acme_Corp", "--name", "x"}, "lowercase letters, digits"},
		{"ErrTier", []string{"--slug", "gold-co", "--name", "x", "--tier", "gold"}, `unknown tier "gold"`},
		{"ErrBridgeOnSQLite", []string{"--slug", "bridgey", "--name", "x", "--tier", "bridge"}, "needs PostgreSQL"},
		{"ErrNoName", []string{"--slug", "nameless"}, "name is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, append(append([]string{"tenant", "create"}, tc.args...), flags...)...)
			if err == nil || !strings.Contains(describe(err), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	out := mustRun(t, append([]string{"tenant", "list", "--json"}, flags...)...)
	var ts []qm.Tenant
	if err := json.Unmarshal([]byte(out), &ts); err != nil || len(ts) != 1 {
		t.Fatalf("after refused creates: %d tenants, %v; want 1", len(ts), err)
	}
	if _, _, err := runCLI(t, append([]string{"tenant", "show", "nobody"}, flags...)...); err == nil || !strings.Contains(describe(err), `no tenant with slug "nobody"`) {
		t.Fatalf("show unknown: got %v", err)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, _, err = runCLI(t, "tenant", "list", "--database-url", "postgres://qm@"+addr+"/qm?connect_timeout=2")
	if err == nil {
		t.Fatal("got no error")
	}
	msg := describe(err)
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "connection refused") || strings.Contains(msg, "\n") {
		t.Fatalf("got %q, want one line naming %s and the cause", msg, addr)
	}
}

func TestUsage(t *testing.T) {
	out, _, err := runCLI(t, "--help")
	if err != nil || !strings.Contains(out, "QM_DATABASE_URL") || !strings.Contains(out, "tenant create") {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: got %v, want a usage error", err)
	}
	if _, _, err := runCLI(t, "migrate", "--parallel", "0", "--data-dir", t.TempDir()); err == nil {
		t.Fatal("--parallel 0 accepted")
	}
}

func TestServe(t *testing.T) {
	addr, metricsAddr := mqtttest.FreeAddr(t), mqtttest.FreeAddr(t)
	dir := t.TempDir()
	mustRun(t, "demo", "--data-dir", dir)
	if out := mustRun(t, "demo", "--data-dir", dir); !strings.Contains(out, "demo tenant acme exists") {
		t.Fatalf("second demo run: %s", out)
	}
	serveForTest(t, []string{"--data-dir", dir, "--addr", addr, "--osmand-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--metrics-addr", metricsAddr},
		addr, metricsAddr)
	for _, path := range []string{"/healthz", "/readyz"} {
		waitServing(t, http.DefaultClient, "http://"+addr+path)
	}
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "qm_mqtt_connected_devices 0") {
		t.Errorf("metrics:\n%.500s", body)
	}
}

// serveForTest runs serve with args until the test ends, and returns once
// it accepts connections at each of addrs. It waits as long as the server
// takes to start, however busy the machine, and fails the test if serve
// ends first, or ends with an error.
func serveForTest(t *testing.T, args []string, addrs ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out bytes.Buffer // read only once serve has returned
	go func() { done <- run(ctx, append([]string{"serve"}, args...), nil, &out, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, out.String())
		}
	})
	for _, addr := range addrs {
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-done:
				done <- err // for the cleanup
				t.Fatalf("serve ended before it listened on %s: %v\n%s", addr, err, out.String())
			case <-time.After(10 * time.Millisecond): // then try again
			}
		}
	}
}

func TestBench(t *testing.T) {
	args := []string{"bench", "--json", "--provision", "2", "--reads", "20", "--tenants", "3", "--http", "200ms", "--clients", "4", "--logins", "2", "--assets", "120", "--asset-tenants", "2",
		"--ingest", "300ms", "--ingest-senders", "2", "--ingest-batch", "50", "--import-rows", "200", "--mqtt", "300ms", "--mqtt-devices", "5", "--mqtt-idle", "0",
		"--limits", "0", "--noisy", "0", // TestBenchLimits runs these
		"--rules", "300ms",
		"--database-url", pgtest.URL(t)}
	out := mustRun(t, args...)
	var results []struct {
		Name     string  `json:"name"`
		N        int     `json:"n"`
		MedianNS int64   `json:"median_ns"`
		Ratio    float64 `json:"ratio"`
		Rate     float64 `json:"rate"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	reads := 0
	for _, r := range results {
		if strings.HasPrefix(r.Name, "point read") {
			reads++
			if r.N != 20 || r.MedianNS <= 0 || r.Ratio <= 0 {
				t.Errorf("%s: got %+v", r.Name, r)
			}
		}
	}
	if reads != 5 { // sqlite pool, silo; postgres pool, bridge, silo
		t.Fatalf("got %d point-read figures, want 5:\n%s", reads, out)
	}
	rates := 0
	for _, r := range results {
		if strings.HasPrefix(r.Name, "ingest HTTP") || strings.HasPrefix(r.Name, "MQTT QoS 1") {
			rates++
			if r.Rate <= 0 || r.N == 0 {
				t.Errorf("%s: got %+v", r.Name, r)
			}
		}
	}
	if rates != 6 { // ingest, ingest with rules against none, and MQTT, on each engine
		t.Fatalf("got %d telemetry figures, want 6:\n%s", rates, out)
	}
	imports := 0
	for _, r := range results {
		if strings.HasPrefix(r.Name, "import 200 assets from CSV (create)") || strings.HasPrefix(r.Name, "import 200 assets from CSV (update)") {
			imports++
		}
	}
	if imports != 4 { // creating and updating, on each engine
		t.Fatalf("got %d import figures, want 4:\n%s", imports, out)
	}
}

func TestOperatorAndTokenCommands(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme"}, flags...)...)
	var out, errOut bytes.Buffer
	err := run(t.Context(), append([]string{"operator", "create", "--email", "Ops@Example.com"}, flags...), strings.NewReader("a long enough password\n"), &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "created operator ops@example.com") {
		t.Fatalf("operator create: %v %s %s", err, out.String(), errOut.String())
	}
	err = run(t.Context(), append([]string{"operator", "create", "--email", "short@example.com"}, flags...), strings.NewReader("short\n"), &out, &errOut)
	if err == nil || !strings.Contains(describe(err), "at least 10 characters") {
		t.Fatalf("short password: got %v", err)
	}
	secret := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "acme", "--role", "viewer", "--expires", "30d"}, flags...)...))
	if !strings.HasPrefix(secret, "qmt_") || strings.Contains(secret, "\n") {
		t.Fatalf("token create printed %q, want the secret alone", secret)
	}
	for _, args := range [][]string{
		{"token", "create", "--tenant", "nobody", "--role", "viewer"},
		{"token", "create", "--tenant", "acme", "--role", "emperor"},
		{"token", "create", "--tenant", "acme", "--role", "viewer", "--expires", "soon"},
	} {
		if _, _, err := runCLI(t, append(args, flags...)...); err == nil {
			t.Errorf("%v: got no error", args)
		}
	}
}

// TestIdentityCommands: the operator invites a tenant's first admin and
// issues password resets; each prints a one-time link and nothing else on
// stdout.
func TestIdentityCommands(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	out := mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme", "--admin", "Boss@Acme.example", "--public-url", "https://qm.example/"}, flags...)...)
	if !strings.Contains(out, "created tenant acme") || !strings.Contains(out, "https://qm.example/invite/qmi_") {
		t.Fatalf("tenant create --admin printed %q, want the tenant and the link", out)
	}
	link := strings.TrimSpace(mustRun(t, append([]string{"tenant", "invite", "acme", "--email", "tech@acme.example", "--role", "technician"}, flags...)...))
	if !strings.HasPrefix(link, "/invite/qmi_") || strings.Contains(link, "\n") {
		t.Fatalf("tenant invite printed %q, want the link alone", link)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append([]string{"operator", "create", "--email", "ops@example.com"}, flags...), strings.NewReader("a long enough password\n"), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	reset := strings.TrimSpace(mustRun(t, append([]string{"user", "reset-password", "OPS@example.com"}, flags...)...))
	if !strings.HasPrefix(reset, "/reset-password/qmr_") {
		t.Fatalf("user reset-password printed %q, want the link alone", reset)
	}
	for _, args := range [][]string{
		{"tenant", "invite", "nobody", "--email", "x@example.com"},
		{"tenant", "invite", "acme", "--email", "not an email"},
		{"tenant", "invite", "acme", "--email", "x@example.com", "--role", "emperor"},
		{"user", "reset-password", "ghost@example.com"},
	} {
		if _, _, err := runCLI(t, append(args, flags...)...); err == nil {
			t.Errorf("%v: got no error", args)
		}
	}
}

func TestAssetsImport(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme"}, flags...)...)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("Asset Tag,Model Name,Category,Purchase Date,Colour\nA-1,Latitude,Laptops,2025-01-02,red\nA-2,Latitude,Laptops,,blue\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("Asset Tag,Model Name,Category,Purchase Date\nB-1,Latitude,Laptops,31/02/2025\nB-2,Latitude,Laptops,\n"), 0o600)

	out := mustRun(t, append([]string{"assets", "import", "--tenant", "acme", good, "--dry-run"}, flags...)...)
	if !strings.Contains(out, "dry run: would import 2 rows: 2 created") || !strings.Contains(out, `"Colour" (no custom field`) {
		t.Fatalf("dry run:\n%s", out)
	}
	out, _, err := runCLI(t, append([]string{"assets", "import", "--tenant", "acme", bad}, flags...)...)
	if err == nil || !strings.Contains(out, "line 2: Purchase Date:") || !strings.Contains(out, "nothing imported") {
		t.Fatalf("bad rows: %v\n%s", err, out)
	}
	// Skipped on request, the bad row does not fail the command: the rest
	// is committed, and the report lists the row skipped.
	out, _, err = runCLI(t, append([]string{"assets", "import", "--tenant", "acme", bad, "--skip-bad-rows"}, flags...)...)
	if err != nil || !strings.Contains(out, "line 2: Purchase Date:") || !strings.Contains(out, "imported 2 rows: 1 created, 0 updated, 1 bad") {
		t.Fatalf("bad rows skipped: %v\n%s", err, out)
	}
	out = mustRun(t, append([]string{"assets", "import", "--tenant", "acme", good, "--json"}, flags...)...)
	var rep qm.ImportReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.Committed || rep.Created != 2 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if out = mustRun(t, append([]string{"assets", "import", "--tenant", "acme", good}, flags...)...); !strings.Contains(out, "0 created, 2 updated") {
		t.Fatalf("second import:\n%s", out)
	}
	if _, _, err := runCLI(t, append([]string{"assets", "import", "--tenant", "acme", filepath.Join(dir, "missing.csv")}, flags...)...); err == nil {
		t.Fatal("a missing file gave no error")
	}
}

// TestAssetsImportRealExport imports a file as a real export gives it
// (storetest.RealExport) on each engine, with --encoding and no other
// edit; and files that yield nothing, which fail.
func TestAssetsImportRealExport(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme"}, flags...)...)
			imp := func(args ...string) (string, error) {
				out, _, err := runCLI(t, append(append([]string{"assets", "import", "--tenant", "acme"}, args...), flags...)...)
				return out, err
			}
			if _, err := imp(storetest.RealExport()); err == nil || !strings.Contains(err.Error(), `line 2, column 1 ("Full Name") is not UTF-8`) {
				t.Fatalf("without --encoding: got %v, want the first line that is not UTF-8", err)
			}
			if _, err := imp(storetest.RealExport(), "--encoding", "klingon"); err == nil || !strings.Contains(err.Error(), `unknown encoding "klingon"`) {
				t.Fatalf("unknown encoding: got %v", err)
			}
			out, err := imp(storetest.RealExport(), "--encoding", "macintosh", "--json")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var rep qm.ImportReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			storetest.CheckRealExport(t, &rep)
			dir := t.TempDir()
			for name, in := range map[string]string{"header-only": "Asset Tag,Model Name\r", "blank-rows": "Asset Tag,Model Name\n,\n\n"} {
				file := filepath.Join(dir, name+".csv")
				os.WriteFile(file, []byte(in), 0o600)
				if out, err := imp(file); err == nil || !strings.Contains(err.Error(), "no rows") {
					t.Fatalf("%s: got %v, want an error saying the file has no rows\n%s", name, err, out)
				}
			}
		})
	}
}

func TestDeviceCommands(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	for _, slug := range []string{"acme", "globex"} {
		mustRun(t, append([]string{"tenant", "create", "--slug", slug, "--name", slug}, flags...)...)
	}
	out := mustRun(t, append([]string{"device", "register", "--ident", "356938035643809", "--serial", "TRK-1", "--json"}, flags...)...)
	var reg struct {
		Device qm.Device
		Token  string
	}
	if err := json.Unmarshal([]byte(out), &reg); err != nil || !strings.HasPrefix(reg.Token, "qmd_") || reg.Device.Serial != "TRK-1" {
		t.Fatalf("register --json: %v in %s", err, out)
	}
	mustRun(t, append([]string{"device", "assign", "356938035643809", "--tenant", "acme"}, flags...)...)
	if out := mustRun(t, append([]string{"device", "assign", "356938035643809", "--tenant", "globex"}, flags...)...); !strings.Contains(out, "token: qmd_") {
		t.Fatalf("a move prints the new credential: %s", out)
	}
	out = mustRun(t, append([]string{"device", "list", "--json", "--tenant", "globex"}, flags...)...)
	var ds []qm.Device
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) != 1 || ds[0].Ident != "356938035643809" {
		t.Fatalf("list --json: %v in %s", err, out)
	}
	if out := mustRun(t, append([]string{"device", "show", "356938035643809"}, flags...)...); strings.Count(out, "held by:") != 2 {
		t.Fatalf("show lists custody: %s", out)
	}
	if _, _, err := runCLI(t, append([]string{"device", "assign", "no-such-device", "--tenant", "acme"}, flags...)...); qm.ErrorCode(err) != qm.ENotFound {
		t.Fatalf("unknown device: got %v, want not found", err)
	}
	// Ident-only reporting is the operator's explicit choice, shown in
	// every list, and can be taken back.
	mustRun(t, append([]string{"device", "register", "--ident", "phone-7", "--kind", "phone", "--ident-only"}, flags...)...)
	out = mustRun(t, append([]string{"device", "list"}, flags...)...)
	if !regexp.MustCompile(`(?m)^phone-7 +phone +yes `).MatchString(out) || !regexp.MustCompile(`(?m)^356938035643809 .* no +globex$`).MatchString(out) {
		t.Fatalf("list shows ident-only:\n%s", out)
	}
	if out := mustRun(t, append([]string{"device", "set", "phone-7", "--ident-only=false", "--notes", "lost"}, flags...)...); !strings.Contains(out, "ident-only: no") {
		t.Fatalf("set: %s", out)
	}
	if out := mustRun(t, append([]string{"device", "show", "phone-7"}, flags...)...); !regexp.MustCompile(`ident-only: +no`).MatchString(out) {
		t.Fatalf("show after set: %s", out)
	}
	if _, _, err := runCLI(t, append([]string{"device", "set", "phone-7", "--ident-only=maybe"}, flags...)...); err == nil {
		t.Fatal("--ident-only=maybe was taken")
	}
	if _, _, err := runCLI(t, append([]string{"device", "set", "phone-7", "--kind", "toaster"}, flags...)...); qm.ErrorCode(err) != qm.EInvalid {
		t.Fatalf("set --kind toaster: got %v, want invalid", err)
	}
}

// TestDeviceRegisterCSV checks that a file of devices with bad rows names
// each bad line and why, and registers none of them.
func TestDeviceRegisterCSV(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	file := filepath.Join(t.TempDir(), "units.csv")
	mustRun(t, append([]string{"device", "register", "--ident", "356938035643809"}, flags...)...)
	for _, tc := range []struct{ in, want string }{
		{"ident,kind\r356938035643801,vehicle\r356938035643802,toaster\r356938035643809,vehicle\r",
			"line 3: kind must be one of"},
		{"ident,kind\r356938035643801,vehicle\r356938035643809,vehicle\r", "line 3: a device with ident \"356938035643809\" is already registered"},
		{"ident,kind\r356938035643801,\"vehicle\r356938035643802,phone,x\r", "line 2: not CSV"},
	} {
		os.WriteFile(file, []byte(tc.in), 0o600)
		_, _, err := runCLI(t, append([]string{"device", "register", "--csv", file}, flags...)...)
		if err == nil || !strings.Contains(describe(err), tc.want) {
			t.Fatalf("%q: got %v, want it to say %q", tc.in, err, tc.want)
		}
	}
	if out := mustRun(t, append([]string{"device", "list", "--json"}, flags...)...); strings.Count(out, `"ident"`) != 1 {
		t.Fatalf("a refused file registered devices: %s", out)
	}
}

func TestSimulate(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "fleet", "--name", "Fleet"}, flags...)...)
	addr, mqttAddr := mqtttest.FreeAddr(t), mqtttest.FreeAddr(t)
	serveForTest(t, append([]string{"--addr", addr, "--osmand-addr", "", "--mqtt-addr", mqttAddr}, flags...), addr, mqttAddr)
	for _, tc := range []struct {
		protocol, flag, target string
	}{{"http", "--server", "http://" + addr}, {"mqtt", "--mqtt", "tcp://" + mqttAddr}} {
		out, stderr, err := runCLI(t, append([]string{"simulate", "--tenant", "fleet", "--devices", "3", "--reports", "2", "--rate", "100",
			"--protocol", tc.protocol, tc.flag, tc.target}, flags...)...)
		if err != nil || !strings.Contains(out, "delivered 6 points, 0 failed") {
			t.Fatalf("simulate over %s: %v\n%s%s", tc.protocol, err, out, stderr)
		}
	}
	out := mustRun(t, append([]string{"device", "list", "--tenant", "fleet"}, flags...)...)
	if strings.Count(out, "sim-fleet-") != 3 {
		t.Fatalf("simulated vehicles: %s", out)
	}
	// Nothing listening, or something that hangs up: the run failed, and
	// says so.
	hangUp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangUp.Close()
	go func() {
		for {
			c, err := hangUp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, args := range [][]string{{"--server", "http://" + mqtttest.FreeAddr(t)}, {"--protocol", "mqtt", "--mqtt", "tcp://" + hangUp.Addr().String()}} {
		out, _, err := runCLI(t, append(append([]string{"simulate", "--tenant", "fleet", "--devices", "1", "--reports", "1"}, args...), flags...)...)
		if err == nil || !strings.Contains(err.Error(), "no point was acknowledged") || !strings.Contains(out, "delivered 0 points, 1 failed") {
			t.Errorf("simulate %v: got %v, %q; want a failure saying nothing was acknowledged", args, err, out)
		}
	}
}

// TestSimulateDefaults checks that simulate sends where serve listens when
// neither is told otherwise, as make run serves.
func TestSimulateDefaults(t *testing.T) {
	_, usage, _ := runCLI(t, "simulate", "-h")
	for _, want := range []string{"http://" + defaultAddr, "http://" + defaultOsmAndAddr, "tcp://" + defaultMQTTAddr} {
		if !strings.Contains(usage, `(default "`+want+`")`) {
			t.Errorf("simulate's defaults do not include %s:\n%s", want, usage)
		}
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	// make run serves on serve's defaults, which are simulate's: a
	// Makefile that names another address breaks that.
	for _, flag := range []string{"--addr", "--mqtt-addr", "--osmand-addr", "QM_ADDR", "QM_MQTT_ADDR", "QM_OSMAND_ADDR"} {
		if strings.Contains(string(makefile), flag) {
			t.Errorf("the Makefile sets %s: make run would serve elsewhere than simulate sends by default", flag)
		}
	}
}

// TestServeMQTTLimits: a bad MQTT limit, on the command line or in the
// environment, is refused before the server starts, naming it.
func TestServeMQTTLimits(t *testing.T) {
	for _, c := range []struct{ name, env, value, flag, want string }{
		{"ZeroPacket", "", "", "--mqtt-max-packet=0", "--mqtt-max-packet must be from 1"},
		{"PacketOverTheProtocol", "", "", "--mqtt-max-packet=5000000000", "--mqtt-max-packet must be from 1"},
		{"NegativeTimeout", "", "", "--mqtt-connect-timeout=-1s", "--mqtt-connect-timeout must be positive"},
		{"BadEnvironment", "QM_MQTT_CONNECT_TIMEOUT", "soon", "", "QM_MQTT_CONNECT_TIMEOUT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv(c.env, c.value)
			}
			args := []string{"serve", "--data-dir", t.TempDir()}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

// TestAssetsImportInvites: --invite-missing-users invites the real
// export's holders who are not members, printing each link once; a dry run
// says who would be invited; the role must exist.
func TestAssetsImportInvites(t *testing.T) {
	flags := storageFlags(t, "sqlite")
	mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme"}, flags...)...)
	imp := func(args ...string) (string, error) {
		out, _, err := runCLI(t, append(append([]string{"assets", "import", "--tenant", "acme", storetest.RealExport(), "--encoding", "macintosh"}, args...), flags...)...)
		return out, err
	}
	if out, err := imp("--invite-missing-users", "--invite-role", "emperor"); err == nil || !strings.Contains(err.Error(), "unknown role emperor") {
		t.Fatalf("unknown role: got %v\n%s", err, out)
	}
	out, err := imp("--invite-missing-users", "--dry-run")
	if err != nil || !strings.Contains(out, "would invite zbronte@contractors.example, to check out 2 assets (lines 2, 6)") || strings.Contains(out, "/invite/") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = imp("--invite-missing-users", "--public-url", "https://qm.example/")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, email := range []string{"zbronte", "jgross", "apereira"} {
		if !strings.Contains(out, "invited "+email+"@contractors.example, to check out") {
			t.Errorf("%s not invited:\n%s", email, out)
		}
	}
	if n := strings.Count(out, "the link is shown this once: https://qm.example/invite/qmi_"); n != 3 {
		t.Fatalf("got %d links, want 3:\n%s", n, out)
	}
}

func TestServeMapFlags(t *testing.T) {
	dir := t.TempDir()
	notTiles := filepath.Join(dir, "world.mbtiles")
	if err := os.WriteFile(notTiles, []byte("SQLite format 3\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.pmtiles")
	if err := os.WriteFile(short, []byte("PMT"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, env, value, flag, want string }{
		{"StyleNotHTTP", "", "", "--map-style=ftp://tiles.example.com/style.json", "--map-style must be an http or https URL"},
		{"StyleRelative", "", "", "--map-style=style.json", "--map-style must be an http or https URL"},
		{"StyleWithoutHost", "", "", "--map-style=https:///style.json", "--map-style must be an http or https URL"},
		{"StyleFromEnvironment", "QM_MAP_STYLE", "file:///etc/passwd", "", "--map-style must be an http or https URL"},
		{"NoSuchTiles", "", "", "--map-pmtiles=" + filepath.Join(dir, "missing.pmtiles"), "--map-pmtiles: open"},
		{"NotPMTiles", "", "", "--map-pmtiles=" + notTiles, "is not a PMTiles file"},
		{"ShortFile", "", "", "--map-pmtiles=" + short, "is not a PMTiles file"},
		{"TilesFromEnvironment", "QM_MAP_PMTILES", notTiles, "", "is not a PMTiles file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv(c.env, c.value)
			}
			args := []string{"serve", "--data-dir", t.TempDir()}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

// TestServeMap: the map flags reach the API and the console's policy.
func TestServeMap(t *testing.T) {
	addr, dir := mqtttest.FreeAddr(t), t.TempDir()
	tiles := filepath.Join(dir, "world.pmtiles")
	if err := os.WriteFile(tiles, []byte("PMTiles\x03rest of the archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"operator", "create", "--data-dir", dir, "--email", "ops@example.com"}, strings.NewReader("a long password here\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	serveForTest(t, []string{"--data-dir", dir, "--addr", addr, "--osmand-addr", "", "--mqtt-addr", "",
		"--map-style", "https://tiles.example.com/styles/basic.json", "--map-pmtiles", tiles}, addr)
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://tiles.example.com;") {
		t.Errorf("the console's policy %q does not let it fetch the style", csp)
	}
	res, err = http.Post("http://"+addr+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"ops@example.com","password":"a long password here"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "qm_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("login: %d, no session", res.StatusCode)
	}
	get := func(path, rangeHeader string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.AddCookie(session)
		if rangeHeader != "" {
			req.Header.Set("Range", rangeHeader)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	if res, body := get("/api/v1/map", ""); res.StatusCode != 200 ||
		strings.TrimSpace(body) != `{"style_url":"https://tiles.example.com/styles/basic.json","pmtiles_url":"/api/v1/map/tiles.pmtiles"}` {
		t.Errorf("GET /api/v1/map: %d %s", res.StatusCode, body)
	}
	if res, body := get("/api/v1/map/tiles.pmtiles", "bytes=0-6"); res.StatusCode != http.StatusPartialContent || body != "PMTiles" {
		t.Errorf("GET the tiles: %d %q, want 206 PMTiles", res.StatusCode, body)
	}
}

// TestPlanCommands: the operator makes a plan, puts a tenant on it and
// overrides a limit from the command line; the CLI's own paths (importing
// assets, creating a token) are held to the tenant's limits like the API.
func TestPlanCommands(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			cli := func(args ...string) string { t.Helper(); return mustRun(t, append(args, flags...)...) }
			if out := cli("plan", "create", "team", "--set", "max_assets=1", "--set", "max_api_tokens=1", "--set", "features=fleet,import,api_tokens"); !strings.Contains(out, "plan team: max_assets=1 max_api_tokens=1 features=api_tokens,fleet,import") {
				t.Fatalf("plan create:\n%s", out)
			}
			if out, stderr, err := runCLI(t, append([]string{"plan", "create", "solo", "--set", "max_asets=1"}, flags...)...); err == nil || !strings.Contains(stderr, `unknown limit "max_asets"`) {
				t.Fatalf("an unknown limit: %v\n%s%s", err, out, stderr)
			}
			file := filepath.Join(t.TempDir(), "two.csv")
			os.WriteFile(file, []byte("Asset Tag,Model Name,Category\nP-1,Dock,Docks\nP-2,Dock,Docks\n"), 0o600)
			tiers := []string{"pool", "silo"}
			if engine == "postgres" {
				tiers = append(tiers, "bridge")
			}
			for _, tier := range tiers {
				slug := "acme-" + tier
				cli("tenant", "create", "--slug", slug, "--name", "Acme", "--tier", tier)
				if out := cli("tenant", "set-plan", slug, "team"); !strings.Contains(out, "tenant "+slug+" on plan team") || !regexp.MustCompile(`max_assets\s+1\s+plan`).MatchString(out) {
					t.Fatalf("%s: set-plan:\n%s", tier, out)
				}
				out, _, err := runCLI(t, append([]string{"assets", "import", "--tenant", slug, file}, flags...)...)
				if err == nil || !strings.Contains(out, "max_assets") || !strings.Contains(out, "nothing imported") {
					t.Fatalf("%s: two assets under a cap of one: %v\n%s", tier, err, out)
				}
				if out := cli("tenant", "limits", slug, "--set", "max_assets=2"); !regexp.MustCompile(`max_assets\s+2\s+override`).MatchString(out) {
					t.Fatalf("%s: override:\n%s", tier, out)
				}
				cli("assets", "import", "--tenant", slug, file)
				cli("token", "create", "--tenant", slug, "--role", "viewer", "--name", "one")
				if _, _, err := runCLI(t, append([]string{"token", "create", "--tenant", slug, "--role", "viewer", "--name", "two"}, flags...)...); qm.ErrorCode(err) != qm.ELimitReached {
					t.Fatalf("%s: a second token under a cap of one: %v", tier, err)
				}
				var tl qm.TenantLimits
				if err := json.Unmarshal([]byte(cli("tenant", "limits", slug, "--unset", "max_assets", "--json")), &tl); err != nil || tl.Effective.MaxAssets() != 1 || tl.Plan != "team" {
					t.Fatalf("%s: after unset: %+v, %v", tier, tl, err)
				}
			}
		})
	}
}

// TestTop: top shows the tenants a node's metrics export, busiest first.
func TestTop(t *testing.T) {
	m := metrics.New(10)
	for range 50 {
		m.Load.Request("acme", time.Millisecond)
	}
	m.Load.Points("globex", 2000)
	m.Load.Refused("initech", 3)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	out := mustRun(t, "top", "--once", "--metrics", srv.URL)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "globex") || !strings.Contains(lines[2], "acme") || !strings.Contains(lines[3], "initech") {
		t.Fatalf("top:\n%s\nwant globex (200 points/s), acme (5 requests/s), then initech", out)
	}
	if !regexp.MustCompile(`acme\s+5\.0\s+0\.0\s+0\.0\s+1ms`).MatchString(lines[2]) {
		t.Fatalf("acme's line: %q", lines[2])
	}
	nothing := httptest.NewServer(http.NotFoundHandler())
	defer nothing.Close()
	if _, _, err := runCLI(t, "top", "--once", "--metrics", nothing.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a URL with no metrics: %v, want the 404 said", err)
	}
}
