package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
)

// TestMultiNode runs two serve nodes on one PostgreSQL database behind
// HAProxy, as README's "Running more than one node" tells. Through the
// balancer, devices send points while one node is killed with SIGKILL and
// started again; each device sends a batch again until it is
// acknowledged, as a device does, and every point it sent, up to its last
// acknowledged batch, must be stored exactly once. Then the cross-tenant
// suite runs through the balancer (httpapi's TestCrossTenantThrough: its
// tenant and device routes, read and write, as every kind of caller).
func TestMultiNode(t *testing.T) {
	haproxy := haproxyPath(t)
	dbURL := pgtest.NewDatabase(t)
	// The suite is a test binary of its own, built while the nodes start
	// and the devices send.
	suite := filepath.Join(t.TempDir(), "httpapi.test")
	built := make(chan error, 1)
	go func() {
		out, err := exec.CommandContext(t.Context(), "go", "test", "-c", "-o", suite, "../../httpapi").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("go test -c ../../httpapi: %v\n%s", err, out)
		}
		built <- err
	}()

	c := startCluster(t, haproxy, dbURL)
	const senders = 4
	var batches atomic.Int64 // acknowledged, by every sender
	sent := make([]*pointSender, senders)
	for i := range sent {
		sent[i] = &pointSender{token: deviceOf(t, c.storage, fmt.Sprintf("unit-%d", i), "durable"), acked: map[int64]bool{}, batches: &batches, retry: true}
	}
	viewer := c.token(t, "viewer")
	client, nodes, lb := c.client, c.nodes, c.lb

	// Devices send through the balancer while node0 is killed and, once
	// the balancer has seen it go and the other node has acknowledged
	// batches alone, started again.
	sendCtx, stopSending := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, s := range sent {
		wg.Go(func() { s.run(sendCtx, client, lb.addr, base) })
	}
	acknowledged := func(what string) {
		t.Helper()
		before := batches.Load()
		poll.Until(t, "the balancer acknowledges batches "+what, func() (bool, error) { return batches.Load() >= before+2*senders, nil })
	}
	acknowledged("with both nodes up")
	nodes[0].kill()
	lb.waitStatus(t, map[string]string{"node0": "DOWN", "node1": "UP"})
	acknowledged("with node0 killed")
	nodes[0].run()
	lb.waitStatus(t, map[string]string{"node0": "UP", "node1": "UP"})
	acknowledged("with node0 started again")
	stopSending()
	wg.Wait()

	total, failed := 0, 0
	for i, s := range sent {
		stored := storedPoints(t, client, lb.addr, "durable", fmt.Sprintf("unit-%d", i), viewer)
		for seq := range int64(len(s.acked)) {
			if !s.acked[seq] {
				t.Fatalf("unit-%d: point %d was never acknowledged, but later ones were: the device gave it up", i, seq)
			}
		}
		mustBeOnce(t, fmt.Sprintf("unit-%d: acknowledged point", i), s.acked, stored)
		total += len(s.acked)
		failed += s.failed
	}
	t.Logf("one node killed and started again: %d points acknowledged through the balancer; %d sends failed and were sent again", total, failed)

	// The cross-tenant suite, with both nodes up again: the balancer sends
	// each request to the next node, so a session, token or device
	// credential made or used through one node is checked by the other.
	if err := <-built; err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if dl := poll.Deadline(t); !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	before := lb.requests(t)
	cmd := exec.CommandContext(ctx, suite, "-test.run", "^TestCrossTenantThrough$", "-test.count=1", "-test.v")
	cmd.Dir = "../../httpapi" // where its tests find their files
	cmd.Env = append(os.Environ(), "QM_CROSSTENANT_URL=http://"+lb.addr, "QM_CROSSTENANT_DATABASE_URL="+dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCrossTenantThrough ") {
		t.Fatalf("the cross-tenant suite through the balancer: %v\n%s", err, failures(string(out)))
	}
	after := lb.requests(t)
	for _, n := range nodes {
		if took := after[n.name] - before[n.name]; took < 100 {
			t.Errorf("%s took %d of the suite's requests, want it to take its turn", n.name, took)
		}
	}
	t.Logf("the cross-tenant suite through the balancer: %d subtests passed; requests by node: %v then %v", strings.Count(string(out), "--- PASS: TestCrossTenantThrough/"), before, after)
}

// BenchmarkMultiNode measures API reads (a tenant's locations, with an
// API token) and HTTP ingest (batches of 100 points, one device a
// client) through HAProxy in front of two nodes against one node
// directly, on one database; each with 4 clients a CPU:
//
//	scripts/with-postgres.sh go test -run '^$' -bench MultiNode -benchtime 5s ./cmd/quartermaster
func BenchmarkMultiNode(b *testing.B) {
	c := startCluster(b, haproxyPath(b), pgtest.NewDatabase(b))
	reader := c.token(b, "viewer")
	const clients = 4
	devices := make(chan string, clients*runtime.GOMAXPROCS(0))
	for i := range cap(devices) {
		devices <- deviceOf(b, c.storage, fmt.Sprintf("bench-%d", i), "durable")
	}
	var at atomic.Int64 // milliseconds after base of the next point, unique across runs
	base := time.Now().Add(-time.Hour)
	// Each client keeps its connection, as a device or a browser does (the
	// default transport keeps 2 a host, so most requests would open one).
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cap(devices)}}
	read := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetParallelism(clients)
			b.RunParallel(func(pb *testing.PB) {
				var page struct{ Locations []any }
				for pb.Next() {
					if err := getJSON(client, "http://"+addr+"/api/v1/t/durable/locations", reader, &page); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		}
	}
	ingest := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetParallelism(clients)
			b.RunParallel(func(pb *testing.PB) {
				device := <-devices
				defer func() { devices <- device }()
				for pb.Next() {
					var body bytes.Buffer
					body.WriteByte('[')
					for i := range 100 {
						if i > 0 {
							body.WriteByte(',')
						}
						fmt.Fprintf(&body, `{"time":"%s","metrics":{"n":%d}}`, base.Add(time.Duration(at.Add(1))*time.Millisecond).Format(time.RFC3339Nano), i)
					}
					body.WriteByte(']')
					if status := post(b.Context(), client, "http://"+addr+"/ingest/v1/points", device, &body); status != http.StatusOK {
						b.Errorf("ingest: %d", status)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "points/s")
		}
	}
	// Each figure beside its counterpart, so that both see the same load
	// of the machine.
	targets := []struct{ name, addr string }{{"direct", c.nodes[0].addr}, {"balanced", c.lb.addr}}
	for _, to := range targets {
		b.Run("read/"+to.name, read(to.addr))
	}
	for _, to := range targets {
		b.Run("ingest/"+to.name, ingest(to.addr))
	}
}

// cluster is two serve nodes on one PostgreSQL database, with a tenant
// "durable", behind HAProxy.
type cluster struct {
	storage []string // the flags that name the database
	nodes   []*clusterNode
	lb      *balancer
	client  *http.Client
}

// startCluster migrates the database at dbURL, makes the tenant and runs
// the nodes and the balancer until the test ends; it returns once the
// balancer sends requests to both nodes.
func startCluster(t testing.TB, haproxy, dbURL string) *cluster {
	t.Helper()
	c := &cluster{storage: []string{"--database-url", dbURL}, client: &http.Client{Timeout: 5 * time.Second}}
	mustRun(t, append([]string{"tenant", "create", "--slug", "durable", "--name", "Durable"}, c.storage...)...)
	for i := range 2 {
		addr := mqtttest.FreeAddr(t)
		n := &clusterNode{name: fmt.Sprintf("node%d", i), addr: addr,
			start: childServer(t, append([]string{"serve", "--addr", addr, "--osmand-addr", "", "--mqtt-addr", ""}, c.storage...))}
		n.run()
		t.Cleanup(n.kill)
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		waitServing(t, c.client, "http://"+n.addr+"/readyz")
	}
	c.lb = startBalancer(t, haproxy, c.nodes)
	waitServing(t, c.client, "http://"+c.lb.addr+"/readyz")
	c.lb.waitStatus(t, map[string]string{"node0": "UP", "node1": "UP"})
	return c
}

// token makes an API token of the tenant with role and returns its secret.
func (c *cluster) token(t testing.TB, role string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "durable", "--role", role, "--name", role}, c.storage...)...))
}

// failures is a verbose test run's output without the lines of what ran
// and passed.
func failures(out string) string {
	var kept []string
	for line := range strings.Lines(out) {
		if trimmed := strings.TrimSpace(line); !strings.HasPrefix(trimmed, "=== RUN") && !strings.HasPrefix(trimmed, "--- PASS") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// haproxyPath is HAProxy's command (Debian's haproxy, which make test
// installs): on PATH or in /usr/sbin. Without it the test skips, and
// under CI=true fails.
func haproxyPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("haproxy is not installed, and CI=true: the multi-node test must run in CI (make test installs it)")
	}
	t.Skip("haproxy is not installed; make test installs it (scripts/ensure-tools.sh)")
	return ""
}

// clusterNode is a serve node of the cluster, in a child process.
type clusterNode struct {
	name, addr string
	start      func() *exec.Cmd
	cmd        *exec.Cmd
}

func (n *clusterNode) run() { n.cmd = n.start() }

// kill ends the node with SIGKILL, if it runs.
func (n *clusterNode) kill() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	n.cmd = nil
}

// balancer is HAProxy in front of the cluster's nodes.
type balancer struct {
	addr  string // where clients reach the nodes
	stats string // where HAProxy serves its statistics (/stats;csv)
}

// haproxyConfig is the balancer's configuration, as README shows it: any
// node takes any request, in turn; a node is taken out when its readiness
// check fails (checked every 100 ms here, to keep the test short) and put
// back when it passes; a request whose node refuses the connection goes
// to another node.
const haproxyConfig = `global
	maxconn 1000

defaults
	mode http
	timeout connect 1s
	timeout client 30s
	timeout server 30s
	timeout tunnel 1h
	retries 3
	option redispatch 1

frontend quartermaster
	bind %s
	default_backend nodes

backend nodes
	balance roundrobin
	option httpchk GET /readyz
	http-check expect status 200
	default-server check inter 100ms fall 1 rise 1
%s
frontend stats
	bind %s
	stats enable
	stats uri /stats
`

// startBalancer starts HAProxy on free loopback ports in front of nodes,
// until the test ends.
func startBalancer(t testing.TB, haproxy string, nodes []*clusterNode) *balancer {
	t.Helper()
	lb := &balancer{addr: mqtttest.FreeAddr(t), stats: mqtttest.FreeAddr(t)}
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "\tserver %s %s\n", n.name, n.addr)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, haproxyConfig, lb.addr, servers.String(), lb.stats), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxy, "-f", cfg, "-db")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	poll.Until(t, "haproxy serves its statistics", func() (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("haproxy ended: %s", out.String())
		default:
		}
		res, err := http.Get("http://" + lb.stats + "/stats;csv")
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
	return lb
}

// waitStatus waits until the balancer's checks find each named node in
// the state given (UP, DOWN).
func (lb *balancer) waitStatus(t testing.TB, want map[string]string) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("the balancer sees the nodes %v", want), func() (bool, error) {
		nodes, err := lb.nodes()
		if err != nil {
			return false, err
		}
		for name, state := range want {
			if n, ok := nodes[name]; !ok || !strings.HasPrefix(n["status"], state) {
				return false, nil
			}
		}
		return true, nil
	})
}

// requests returns how many requests the balancer has sent each node.
func (lb *balancer) requests(t testing.TB) map[string]int {
	t.Helper()
	nodes, err := lb.nodes()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for name, stats := range nodes {
		n[name], _ = strconv.Atoi(stats["req_tot"])
	}
	return n
}

// nodes reads HAProxy's statistics of each node, by column.
func (lb *balancer) nodes() (map[string]map[string]string, error) {
	res, err := http.Get("http://" + lb.stats + "/stats;csv")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("haproxy's statistics: %v", err)
	}
	nodes := map[string]map[string]string{}
	for _, row := range rows[1:] {
		stats := map[string]string{}
		for i, name := range rows[0] {
			stats[strings.TrimPrefix(name, "# ")] = row[i]
		}
		if stats["pxname"] == "nodes" && stats["svname"] != "BACKEND" {
			nodes[stats["svname"]] = stats
		}
	}
	return nodes, nil
}
