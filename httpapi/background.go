package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
)

// background runs a server's jobs beyond their requests (imports,
// exports, moves): each keeps its request's scope (tenant, principal, origin)
// but not its end, and ends when the server stops.
type background struct {
	stopping context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

func newBackground() *background {
	b := &background{}
	b.stopping, b.stop = context.WithCancel(context.Background())
	return b
}

// Go runs fn on a goroutine of its own, with ctx's values.
func (b *background) Go(ctx context.Context, fn func(ctx context.Context)) {
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(b.stopping, cancel)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer stop()
		defer cancel()
		fn(jobCtx)
	}()
}

// shutdown cancels every job and waits until each has ended.
func (b *background) shutdown() {
	b.stop()
	b.wg.Wait()
}

// randomHex is n random bytes in hex: an id no one can guess.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// States of a background job the operator follows.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// jobHead is what every job the operator follows tells of itself: which,
// of whom, how it stands and when.
type jobHead struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	// State is running, done or failed.
	State string `json:"state"`
	// Error says why a failed job failed.
	Error string `json:"error,omitempty"`
	// CreatedAt is when the job started; FinishedAt when it ended, absent
	// while it runs.
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// ExpiresAt is when the job is forgotten: a while after it ended
	// (while it runs, that while after it started).
	ExpiresAt time.Time `json:"expires_at"`
}

func (h *jobHead) head() *jobHead { return h }

// job is a pointer to a job type that embeds jobHead.
type job[J any] interface {
	*J
	head() *jobHead
}

// jobTable is the jobs of one kind (exports, moves) a server runs in the
// background, kept in this process's memory until they expire: a server
// restarted forgets them. A deployment of several nodes behind one
// address needs the shared job store of issue 14, since a job's state is
// on the node that ran it.
type jobTable[J any, P job[J]] struct {
	kind   string // "export", "move": what the messages call a job
	life   time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu   sync.Mutex
	jobs map[string]*J

	// running are the jobs under way, stopped with the server.
	running *background
}

func newJobTable[J any, P job[J]](kind string, life time.Duration, now func() time.Time, logger *slog.Logger) *jobTable[J, P] {
	return &jobTable[J, P]{kind: kind, life: life, now: now, logger: logger, jobs: map[string]*J{}, running: newBackground()}
}

// shutdown stops the running jobs and waits until each has ended.
func (t *jobTable[J, P]) shutdown() { t.running.shutdown() }

// newHead is the head of a new job of tenant, running from now.
func (t *jobTable[J, P]) newHead(tenant string) jobHead {
	now := t.now()
	return jobHead{ID: randomHex(16), Tenant: tenant, State: jobRunning, CreatedAt: now, ExpiresAt: now.Add(t.life)}
}

// add records j.
func (t *jobTable[J, P]) add(j P) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.jobs[j.head().ID] = j
}

// expired says whether j is forgotten by now.
func (t *jobTable[J, P]) expired(j P) bool {
	return j.head().State != jobRunning && !t.now().Before(j.head().ExpiresAt)
}

// forget drops the jobs past their expiry and returns the ids of those
// kept.
func (t *jobTable[J, P]) forget() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	keep := map[string]bool{}
	for id, j := range t.jobs {
		if t.expired(j) {
			delete(t.jobs, id)
		} else {
			keep[id] = true
		}
	}
	return keep
}

// get returns a copy of job id. ENotFound, also for a job expired.
func (t *jobTable[J, P]) get(id string) (J, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[id]
	if !ok || t.expired(j) {
		var none J
		return none, qm.Errorf(qm.ENotFound, "no %s %q (one is kept for %v after it ends)", t.kind, id, t.life)
	}
	return *j, nil
}

// list returns copies of the jobs, of the tenant when not empty, newest
// first.
func (t *jobTable[J, P]) list(tenant string) []J {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []J{}
	for _, j := range t.jobs {
		if tenant == "" || P(j).head().Tenant == tenant {
			out = append(out, *j)
		}
	}
	slices.SortFunc(out, func(a, b J) int {
		ha, hb := P(&a).head(), P(&b).head()
		if c := hb.CreatedAt.Compare(ha.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(hb.ID, ha.ID)
	})
	return out
}

// update changes job id under the lock.
func (t *jobTable[J, P]) update(id string, change func(j P)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.jobs[id]; ok {
		change(j)
	}
}

// finish records how job id ended, err being what its work returned
// under jobCtx, and logs an internal error.
func (t *jobTable[J, P]) finish(jobCtx context.Context, id string, err error) {
	var tenant string
	t.update(id, func(j P) {
		h := j.head()
		now := t.now()
		h.FinishedAt, h.ExpiresAt, tenant = &now, now.Add(t.life), h.Tenant
		switch {
		case err == nil:
			h.State = jobDone
		case jobCtx.Err() != nil:
			h.State, h.Error = jobFailed, "the server stopped before the "+t.kind+" finished"
		default:
			h.State, h.Error = jobFailed, qm.ErrorMessage(err)
		}
	})
	if err != nil && jobCtx.Err() == nil && qm.ErrorCode(err) == qm.EInternal {
		t.logger.Error("tenant "+t.kind+" failed", "job", id, "tenant", tenant, "err", err)
	}
}
