// Package pgtest gives tests a fresh PostgreSQL database on the server named
// by QM_TEST_DATABASE_URL (a superuser URL; `make test` starts a throwaway
// server and sets it). Without it, tests skip, except under CI=true, where
// they fail: CI must never pass by skipping the PostgreSQL tiers.
package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL returns the test server's superuser URL, or skips (fails under CI)
// when there is none.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("QM_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("QM_TEST_DATABASE_URL is not set and CI=true: PostgreSQL tests must run in CI (use make test)")
		}
		t.Skip("QM_TEST_DATABASE_URL is not set; run make test for the PostgreSQL tiers")
	}
	return u
}

// NewDatabase creates an empty database and returns a URL for it. When the
// test ends it drops the database and every database whose name starts
// with the new one's name and "_" (the engine names silo databases so).
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base := URL(t)
	conn := MustConnect(t, base)
	b := make([]byte, 6)
	rand.Read(b)
	name := "qmt_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop test databases: %v", err)
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`, name, name+`\_%`)
		if err != nil {
			t.Errorf("list test databases: %v", err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("list test databases: %v", err)
		}
		for _, n := range names {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database %s: %v", n, err)
			}
		}
	})
	return WithDatabase(t, base, name)
}

// WithDatabase returns rawURL naming database instead of its own.
func WithDatabase(t testing.TB, rawURL, database string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %s: %v", rawURL, err)
	}
	u.Path = "/" + database
	return u.String()
}

// MustConnect opens a connection closed when the test ends.
func MustConnect(t testing.TB, rawURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// NewCluster starts another throwaway PostgreSQL cluster, as `make test`
// starts the first (scripts/with-postgres.sh, on a free port), and
// returns its superuser URL; the cluster is stopped and removed when the
// test ends, or when the test's process dies (the script's command, which
// holds the cluster, ends with its input). It skips or fails as URL does.
func NewCluster(t testing.TB) string {
	t.Helper()
	URL(t)
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "with-postgres.sh"), "sh", "-c", `echo "$QM_TEST_DATABASE_URL" && exec cat >/dev/null`)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "QM_TEST_DATABASE_URL=") })
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a second PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("the second PostgreSQL cluster: %v\n%s", err, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "postgres://") {
		t.Fatalf("start a second PostgreSQL cluster: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// moduleRoot is the directory of the go.mod above the working directory
// (a package's, under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
