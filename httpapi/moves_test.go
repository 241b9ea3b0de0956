package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/internal/poll"
)

// moveJob is a move job as the API answers it.
type moveJob struct {
	ID         string     `json:"id"`
	Tenant     string     `json:"tenant"`
	State      string     `json:"state"`
	Error      string     `json:"error"`
	FinishedAt *time.Time `json:"finished_at"`
	PausedAt   *time.Time `json:"paused_at"`
	PauseMS    *int64     `json:"pause_ms"`
	From       struct {
		Tier qm.Tier `json:"tier"`
	} `json:"from"`
	To struct {
		Tier      qm.Tier      `json:"tier"`
		Placement qm.Placement `json:"placement"`
	} `json:"to"`
	Progress qm.ArchiveProgress `json:"progress"`
	Rows     int64              `json:"rows"`
}

// otherTier is a tier a tenant on tier moves to, on every engine.
func otherTier(tier qm.Tier) qm.Tier {
	if tier == qm.TierPool {
		return qm.TierSilo
	}
	return qm.TierPool
}

// moveBody asks to move tf to the other tier.
func moveBody(tf *tenantFixture) string { return `{"tier":"` + string(otherTier(tf.t.Tier)) + `"}` }

// mustMoveEnd waits until move id is no longer running, and returns it.
func (f *fixture) mustMoveEnd(t *testing.T, id string) moveJob {
	t.Helper()
	return mustJobEnd[moveJob](t, f, "/api/v1/operator/moves/"+id)
}

// startMove asks the API to move slug as body says, and returns the job.
func (f *fixture) startMove(t *testing.T, slug, body string) moveJob {
	t.Helper()
	res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/"+slug+"/moves", body)
	if res.Code != http.StatusAccepted {
		t.Fatalf("start a move of %s: got %d %s, want 202", slug, res.Code, res.Body)
	}
	var j moveJob
	if err := json.Unmarshal(res.Body.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if loc := res.Header().Get("Location"); loc != "/api/v1/operator/moves/"+j.ID {
		t.Errorf("Location: got %q, want the job's", loc)
	}
	return j
}

// mustMove makes a tenant on tf's tier, moves it to the other through the
// API and waits until it is done.
func (f *fixture) mustMove(t *testing.T, tf *tenantFixture) moveJob {
	t.Helper()
	moved := f.mustTenant(t, tf.t.Tier, fmt.Sprintf("moved-%d", nextSlug()))
	j := f.startMove(t, moved.t.Slug, moveBody(tf))
	if j = f.mustMoveEnd(t, j.ID); j.State != "done" {
		t.Fatalf("move %s: %s (%s), want done", j.ID, j.State, j.Error)
	}
	return j
}

// seedMoves moves two tenants.
func seedMoves(t *testing.T, f *fixture, tf *tenantFixture) {
	t.Helper()
	f.mustMove(t, tf)
	f.mustMove(t, tf)
}

// heldMover is the server's mover, which holds the first move once it
// has paused the tenant's writes for the last pass, until released or
// stopped.
type heldMover struct {
	qm.TenantMover
	once     sync.Once
	held     chan struct{} // closed once the move is held
	released chan struct{}
}

func (h *heldMover) MoveTenant(ctx context.Context, slug string, opts qm.TenantMove) (*qm.Tenant, error) {
	paused := opts.Paused
	opts.Paused = func() {
		paused()
		h.once.Do(func() {
			close(h.held)
			select {
			case <-h.released:
			case <-ctx.Done(): // the server stops
			}
		})
	}
	return h.TenantMover.MoveTenant(ctx, slug, opts)
}

// mustHold waits until the move is held.
func (h *heldMover) mustHold(t *testing.T) {
	t.Helper()
	select {
	case <-h.held:
	case <-poll.After(t):
		t.Fatal("gave up waiting until the move pauses the tenant's writes")
	}
}

// TestMove moves a tenant with an asset from pool to silo through the
// operator's API: the job follows the copy table by table, the tenant is
// answered 503 while its writes pause for the last pass (the job tells
// when, and then how long), and afterwards it is served from the silo
// with its asset; a move to where it is, to no tier, or of a tenant
// moving is refused, and nobody but the operator may move or look.
func TestMove(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			hold := &heldMover{held: make(chan struct{}), released: make(chan struct{})}
			f := newFixtureWith(t, be, func(c *httpapi.Config) { hold.TenantMover, c.Moves = c.Moves, hold })
			a := f.a
			res := f.do(t, a.admin, "POST", tenantPath("/assets")(a), fmt.Sprintf(`{"name":"Moved laptop","model_id":%q}`, a.model.ID))
			mustStatus(t, res, http.StatusCreated, "create an asset")
			var asset qm.Asset
			if err := json.Unmarshal(res.Body.Bytes(), &asset); err != nil {
				t.Fatal(err)
			}
			before := assetsOf(t, f, a.admin, a.t.Slug)

			j := f.startMove(t, a.t.Slug, `{"tier":"silo"}`)
			if j.Tenant != a.t.Slug || j.State != "running" || j.From.Tier != qm.TierPool || j.To.Tier != qm.TierSilo {
				t.Fatalf("the move started: %+v", j)
			}

			// Released once looked at, or when the test ends early, so the
			// server's shutdown does not wait on it.
			release := sync.OnceFunc(func() { close(hold.released) })
			t.Cleanup(release)
			t.Run("WhileMoving", func(t *testing.T) {
				hold.mustHold(t)
				for _, who := range []principal{a.admin, a.adminToken} {
					res := f.do(t, who, "GET", tenantPath("/assets")(a), "")
					if res.Code != http.StatusServiceUnavailable || res.Header().Get("Retry-After") == "" {
						t.Errorf("assets as %s while moving: got %d %v, want 503 with Retry-After", who.name, res.Code, res.Header())
					}
				}
				mustStatus(t, f.do(t, f.b.admin, "GET", tenantPath("/assets")(f.b), ""), http.StatusOK, "the neighbour while A moves")
				res := f.do(t, f.operator, "GET", "/api/v1/operator/moves/"+j.ID, "")
				var held moveJob
				json.Unmarshal(res.Body.Bytes(), &held)
				if held.State != "running" || held.Progress.N == 0 || held.Progress.N >= held.Progress.Total || held.PausedAt == nil || held.PauseMS != nil {
					t.Errorf("the move held in its pause, after its first pass: %d %s", res.Code, res.Body)
				}
				res = f.do(t, f.operator, "POST", "/api/v1/operator/tenants/"+a.t.Slug+"/moves", `{"tier":"silo"}`)
				if res.Code != http.StatusConflict {
					t.Errorf("a second move while it moves: got %d %s, want 409", res.Code, res.Body)
				}
			})
			release()

			j = f.mustMoveEnd(t, j.ID)
			if j.State != "done" || j.Progress.Total == 0 || j.Progress.N != j.Progress.Total || j.Rows == 0 || j.FinishedAt == nil || j.PauseMS == nil {
				t.Fatalf("the move done: %+v", j)
			}
			res = f.do(t, f.operator, "GET", "/api/v1/operator/tenants/"+a.t.Slug, "")
			var moved qm.Tenant
			json.Unmarshal(res.Body.Bytes(), &moved)
			if moved.Tier != qm.TierSilo || moved.State != qm.StateActive || moved.ID != a.t.ID {
				t.Fatalf("the tenant after its move: %d %s", res.Code, res.Body)
			}
			res = f.do(t, a.admin, "GET", tenantPath("/assets/"+asset.ID)(a), "")
			if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), "Moved laptop") {
				t.Fatalf("the asset after the move: %d %s", res.Code, res.Body)
			}
			if after := assetsOf(t, f, a.admin, a.t.Slug); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("assets after the move: got %v, want %v", after, before)
			}
			res = f.do(t, f.operator, "GET", "/api/v1/operator/moves?tenant="+a.t.Slug, "")
			if !strings.Contains(res.Body.String(), j.ID) {
				t.Errorf("the list of moves lacks %s: %d %s", j.ID, res.Code, res.Body)
			}
			if res := f.do(t, f.operator, "GET", "/api/v1/operator/moves?tenant="+f.b.t.Slug, ""); strings.Contains(res.Body.String(), j.ID) {
				t.Errorf("B's moves list A's: %s", res.Body)
			}

			t.Run("Refused", func(t *testing.T) {
				for _, c := range []struct {
					name, slug, body string
					status           int
					field            string
				}{
					{"ToWhereItIs", a.t.Slug, `{"tier":"silo"}`, http.StatusUnprocessableEntity, "tier"},
					{"UnknownTier", a.t.Slug, `{"tier":"gold"}`, http.StatusUnprocessableEntity, "tier"},
					{"NoTier", a.t.Slug, `{}`, http.StatusUnprocessableEntity, "tier"},
					{"NoTenant", "no-such-tenant", `{"tier":"silo"}`, http.StatusNotFound, ""},
				} {
					t.Run(c.name, func(t *testing.T) {
						res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/"+c.slug+"/moves", c.body)
						var body struct {
							Error struct {
								Fields map[string]string `json:"fields"`
							} `json:"error"`
						}
						json.Unmarshal(res.Body.Bytes(), &body)
						if res.Code != c.status || c.field != "" && body.Error.Fields[c.field] == "" {
							t.Errorf("got %d %s, want %d naming %q", res.Code, res.Body, c.status, c.field)
						}
					})
				}
				if res := f.do(t, f.operator, "GET", "/api/v1/operator/moves/nothing-here", ""); res.Code != http.StatusNotFound {
					t.Errorf("an unknown move: got %d, want 404", res.Code)
				}
				if res := f.do(t, f.operator, "GET", "/api/v1/operator/moves?tenant="+a.t.Slug, ""); strings.Count(res.Body.String(), `"id"`) != 1 {
					t.Errorf("a refused move made a job: %s", res.Body)
				}
			})

			t.Run("OnlyTheOperator", func(t *testing.T) {
				for _, who := range []principal{a.admin, a.adminToken, a.viewer} {
					for _, req := range [][2]string{
						{"POST", "/api/v1/operator/tenants/" + a.t.Slug + "/moves"},
						{"GET", "/api/v1/operator/moves/" + j.ID},
						{"GET", "/api/v1/operator/moves"},
					} {
						if res := f.do(t, who, req[0], req[1], `{"tier":"pool"}`); res.Code != http.StatusForbidden {
							t.Errorf("%s %s as %s: got %d, want 403", req[0], req[1], who.name, res.Code)
						}
					}
				}
				if res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants/"+a.t.Slug, ""); !strings.Contains(res.Body.String(), `"tier":"silo"`) {
					t.Errorf("the tenant after refused moves: %s", res.Body)
				}
			})
		})
	}
}

// TestMoveStopped stops the server while a move copies: the move's job
// says it failed, and the tenant is served where it was, whole.
func TestMoveStopped(t *testing.T) {
	hold := &heldMover{held: make(chan struct{}), released: make(chan struct{})}
	f := newFixtureWith(t, backends[0], func(c *httpapi.Config) { hold.TenantMover, c.Moves = c.Moves, hold })
	a := f.a
	before := assetsOf(t, f, a.admin, a.t.Slug)
	j := f.startMove(t, a.t.Slug, `{"tier":"silo"}`)
	hold.mustHold(t)
	f.srv.Close() // returns once the move has ended

	if j = f.mustMoveEnd(t, j.ID); j.State != "failed" || j.Error != "the server stopped before the move finished" || j.FinishedAt == nil {
		t.Fatalf("the move stopped: %+v", j)
	}
	res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants/"+a.t.Slug, "")
	var back qm.Tenant
	json.Unmarshal(res.Body.Bytes(), &back)
	if back.Tier != qm.TierPool || back.State != qm.StateActive {
		t.Fatalf("the tenant after its move stopped: %d %s", res.Code, res.Body)
	}
	if after := assetsOf(t, f, a.admin, a.t.Slug); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("assets after the move stopped: got %v, want %v", after, before)
	}
}
