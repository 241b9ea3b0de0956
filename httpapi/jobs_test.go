package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestJobsAcrossNodes: the operator's exports and moves, kept in the
// catalog, are followed through any node sharing it, as behind a load
// balancer. An export made on one node is read and listed on another,
// whose download says which node keeps the archive; a move started on
// the other is followed to its end on the first; a job still running on
// a node that stopped beating reads failed.
func TestJobsAcrossNodes(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			var cfg httpapi.Config
			f := newFixtureWith(t, be, func(c *httpapi.Config) { cfg = *c })
			cfg.Node, cfg.ExportDir = "node-b", t.TempDir()
			b := httpapi.New(cfg)
			t.Cleanup(b.Close)
			// Node B beats, as a node serving does (rates.KeepShare).
			beating := make(chan struct{})
			go func() {
				defer close(beating)
				for {
					if err := f.e.Tenants().Heartbeat(t.Context(), "node-b"); err != nil && t.Context().Err() == nil {
						t.Errorf("heartbeat: %v", err)
					}
					select {
					case <-t.Context().Done():
						return
					case <-time.After(time.Second):
					}
				}
			}()
			t.Cleanup(func() { <-beating })
			onA, onB := f.handler, b.Handler()
			as := func(p principal, h http.Handler, method, path, body string) (res *responseOf) {
				t.Helper()
				f.handler = h
				defer func() { f.handler = onA }()
				r := f.do(t, p, method, path, body)
				return &responseOf{code: r.Code, body: r.Body.String()}
			}
			through := func(h http.Handler, method, path, body string) *responseOf {
				return as(f.operator, h, method, path, body)
			}

			exported := f.mustExport(t, f.a)
			res := through(onB, "GET", "/api/v1/operator/exports/"+exported.ID, "")
			var seen exportJob
			if res.code != http.StatusOK || json.Unmarshal([]byte(res.body), &seen) != nil || seen.State != "done" || seen.Bytes != exported.Bytes {
				t.Fatalf("the export through the other node: %d %s; want it done, as %+v", res.code, res.body, exported)
			}
			if res := through(onB, "GET", "/api/v1/operator/exports", ""); res.code != http.StatusOK || !strings.Contains(res.body, exported.ID) {
				t.Fatalf("the exports through the other node: %d %s; want %s listed", res.code, res.body, exported.ID)
			}
			if res := through(onB, "GET", "/api/v1/operator/exports/"+exported.ID+"/archive", ""); res.code != http.StatusConflict || !strings.Contains(res.body, "test-node") {
				t.Fatalf("the archive through the other node: %d %s; want 409 naming the node that keeps it", res.code, res.body)
			}
			if res := through(onA, "GET", "/api/v1/operator/exports/"+exported.ID+"/archive", ""); res.code != http.StatusOK {
				t.Fatalf("the archive through its node: %d", res.code)
			}

			moved := f.mustTenant(t, be.tier, "moved-across")
			res = through(onB, "POST", "/api/v1/operator/tenants/"+moved.t.Slug+"/moves", moveBody(moved))
			var started moveJob
			if res.code != http.StatusAccepted || json.Unmarshal([]byte(res.body), &started) != nil {
				t.Fatalf("a move through the other node: %d %s", res.code, res.body)
			}
			if j := f.mustMoveEnd(t, started.ID); j.State != "done" || j.To.Tier != otherTier(be.tier) {
				t.Fatalf("the move followed through the first node: %+v", j)
			}

			body, err := json.Marshal(map[string]any{"id": "0123456789abcdef0123456789abcdef", "tenant": f.b.t.Slug, "node": "gone-node", "state": "running",
				"created_at": time.Now().UTC(), "expires_at": time.Now().Add(time.Hour).UTC()})
			if err != nil {
				t.Fatal(err)
			}
			err = f.e.Tenants().PutJob(t.Context(), &qm.OperatorJob{Kind: "move", ID: "0123456789abcdef0123456789abcdef", Tenant: f.b.t.Slug, Node: "gone-node",
				Running: true, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), Body: body})
			if err != nil {
				t.Fatal(err)
			}
			var dead moveJob
			res = through(onA, "GET", "/api/v1/operator/moves/0123456789abcdef0123456789abcdef", "")
			if res.code != http.StatusOK || json.Unmarshal([]byte(res.body), &dead) != nil || dead.State != "failed" || !strings.Contains(dead.Error, "gone-node") {
				t.Fatalf("a move of a node that stopped: %d %s; want it failed, naming the node", res.code, res.body)
			}

			// A tenant's imports: one recorded running by a node still
			// beating reads running; one of a node gone silent, or of an
			// earlier run of the node that reads it, reads failed.
			jobs := dataplane.NewImportJobStore(f.e, f.e.Tenants(), time.Now)
			imports := map[string]string{"node-b#0a0b": qm.ImportRunning, "gone-node#0a0b": qm.ImportFailed, "test-node#0a0b": qm.ImportFailed}
			ids := map[string]string{}
			for node := range imports {
				j := &qm.ImportJob{FileName: "big.csv", Bytes: 10, Node: node}
				if err := jobs.StartImportJob(f.b.ctx, j); err != nil {
					t.Fatal(err)
				}
				ids[j.ID] = node
			}
			for id, node := range ids {
				var got qm.ImportJob
				res := as(f.b.admin, onA, "GET", "/api/v1/t/"+f.b.t.Slug+"/imports/"+id, "")
				if res.code != http.StatusOK || json.Unmarshal([]byte(res.body), &got) != nil || got.Status != imports[node] {
					t.Errorf("an import recorded running by %s: %d %s; want it %s", node, res.code, res.body, imports[node])
				}
				if name, _, _ := strings.Cut(node, "#"); got.Status == qm.ImportFailed && !strings.Contains(got.Error, "node "+name+" stopped") {
					t.Errorf("an import of %s: failed with %q, want it to name the node", node, got.Error)
				}
			}
			var list struct{ Jobs []qm.ImportJob }
			res = as(f.b.admin, onA, "GET", "/api/v1/t/"+f.b.t.Slug+"/imports", "")
			if res.code != http.StatusOK || json.Unmarshal([]byte(res.body), &list) != nil {
				t.Fatalf("the imports: %d %s", res.code, res.body)
			}
			for _, j := range list.Jobs {
				if node, ok := ids[j.ID]; ok && j.Status != imports[node] {
					t.Errorf("the imports list %s of %s as %s, want %s", j.ID, node, j.Status, imports[node])
				}
			}
		})
	}
}

// responseOf is a response's status and body.
type responseOf struct {
	code int
	body string
}
