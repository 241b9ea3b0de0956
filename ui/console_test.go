package ui_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
)

// TestConsole runs the console's journeys (Playwright, in e2e/) in real
// headless Chromium against the real server binary, once on SQLite and
// once on PostgreSQL, each started on a free port with fresh storage and
// the demo data. It needs the built console (make build), Chromium and
// the npm packages (make test installs them); without them it skips, and
// under CI=true it fails.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser journeys are not short")
	}
	need := func(what string, ok bool) {
		t.Helper()
		if ok {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s, and CI=true: the browser journeys must run in CI (use make test)", what)
		}
		t.Skipf("%s; make test builds and installs what the browser journeys need", what)
	}
	_, err := os.Stat("dist/console/index.html")
	need("the console is not built (dist/console/index.html)", err == nil)
	_, err = os.Stat("node_modules/.bin/playwright")
	need("the npm packages are not installed (ui/node_modules)", err == nil)
	_, err = os.Stat(chromium())
	need("Chromium is not at "+chromium(), err == nil)
	dbURL := "" // checked before anything is built
	if os.Getenv("QM_TEST_DATABASE_URL") != "" || os.Getenv("CI") == "true" {
		dbURL = pgtest.NewDatabase(t)
	}

	bin := filepath.Join(t.TempDir(), "quartermaster")
	build := exec.Command("go", "build", "-o", bin, "../cmd/quartermaster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vehicles := []string{"--simulate", "acme:3"}
	env := []string{"QM_CHROMIUM=" + chromium()}
	env = append(env, "QM_SQLITE_URL="+startServer(t, bin, []string{"--data-dir", t.TempDir()}, vehicles...))
	if dbURL != "" {
		env = append(env, "QM_POSTGRES_URL="+startServer(t, bin, []string{"--database-url", dbURL}, vehicles...))
	}
	// The base map from a PMTiles file, on a server of its own so that the
	// others keep drawing the bundled outlines; no vehicle moves its map.
	env = append(env, "QM_PMTILES_URL="+startServer(t, bin, []string{"--data-dir", t.TempDir()}, "--map-pmtiles", writeWorldPMTiles(t)))
	shots := os.Getenv("QM_SCREENSHOTS") // where to write the README's pictures, if anywhere
	if shots != "" {
		abs, err := filepath.Abs(shots)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "QM_SCREENSHOTS="+abs)
	}
	// QM_PLAYWRIGHT_ARGS narrows a run while working on one journey, such
	// as "e2e/assets.spec.ts --project sqlite".
	// Ended before the test's deadline, so what it printed is reported.
	ctx := t.Context()
	if dl := poll.Deadline(t); !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	// Each run keeps its traces and screenshots in a folder of its own
	// (Playwright empties its output folder as it starts), removed when
	// every journey passed: a run beside this one keeps its own.
	if err := os.MkdirAll("test-results", 0o755); err != nil {
		t.Fatal(err)
	}
	results, err := os.MkdirTemp("test-results", "run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(results)
		}
	})
	args := append([]string{"test", "--output", results}, strings.Fields(os.Getenv("QM_PLAYWRIGHT_ARGS"))...)
	cmd := exec.CommandContext(ctx, "node_modules/.bin/playwright", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second // for browsers that outlive a killed Playwright, holding its output open
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("playwright: %v (traces and screenshots in ui/%s)\n%s", err, results, out)
	}
	t.Logf("playwright:\n%s", out)
}

// chromium is the browser the journeys drive: Debian's, unless QM_CHROMIUM names another.
func chromium() string {
	if c := os.Getenv("QM_CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

var listening = regexp.MustCompile(`msg=listening listener=api addr=(\S+)`)

// startServer seeds the demo data into fresh storage, serves it on a
// port of the system's choosing with the flags given, and returns its URL
// once it is ready. The server stops when the test ends.
func startServer(t *testing.T, bin string, storage []string, flags ...string) string {
	t.Helper()
	if out, err := exec.Command(bin, append([]string{"demo"}, storage...)...).CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	args := append(append([]string{"serve", "--addr", "127.0.0.1:0", "--mqtt-addr", "", "--osmand-addr", ""}, storage...), flags...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	addr := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if log.Len() < 1<<20 {
				log.WriteString(line + "\n")
			}
			if m := listening.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
		close(addr)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-drained
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve %v: %v\n%s", storage, err, log.String())
		}
	})
	a, ok := <-addr
	if !ok {
		t.Fatalf("serve ended before it listened\n%s", log.String())
	}
	url := "http://" + a
	poll.Until(t, "the server at "+url+" is ready", func() (bool, error) {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			return false, nil // not yet
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	return url
}
