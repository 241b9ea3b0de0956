package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/rates"
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
	// Node is the node that runs the job: any node answers for it.
	Node string `json:"node"`
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
// background. This node's jobs are kept in its memory until they expire,
// and, with a store (qm.OperatorJobs, the catalog), where every node
// reads them: behind a load balancer any node answers for a job another
// runs, and reports it failed once that node stopped beating. Without a
// store, a server restarted forgets them.
type jobTable[J any, P job[J]] struct {
	kind   string // "export", "move": what the messages call a job
	node   string
	life   time.Duration
	now    func() time.Time
	logger *slog.Logger
	store  qm.OperatorJobs

	mu    sync.Mutex
	jobs  map[string]*J
	saved map[string]time.Time // when each of jobs was last stored

	// running are the jobs under way, stopped with the server.
	running *background
}

// saveEvery is how often a running job's progress is stored at most; its
// start and end are stored at once.
const saveEvery = 250 * time.Millisecond

func newJobTable[J any, P job[J]](kind string, life time.Duration, store qm.OperatorJobs, node string, now func() time.Time, logger *slog.Logger) *jobTable[J, P] {
	return &jobTable[J, P]{kind: kind, node: node, life: life, now: now, logger: logger, store: store,
		jobs: map[string]*J{}, saved: map[string]time.Time{}, running: newBackground()}
}

// shutdown stops the running jobs and waits until each has ended.
func (t *jobTable[J, P]) shutdown() { t.running.shutdown() }

// newHead is the head of a new job of tenant, running from now.
func (t *jobTable[J, P]) newHead(tenant string) jobHead {
	now := t.now()
	return jobHead{ID: randomHex(16), Tenant: tenant, Node: t.node, State: jobRunning, CreatedAt: now, ExpiresAt: now.Add(t.life)}
}

// add records j.
func (t *jobTable[J, P]) add(j P) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.jobs[j.head().ID] = j
	t.save(j)
}

// save stores j, under the lock; a failure is logged: the job goes on,
// and this node still answers for it.
func (t *jobTable[J, P]) save(j P) {
	if t.store == nil {
		return
	}
	h := j.head()
	body, err := json.Marshal(j)
	if err == nil {
		err = t.store.PutJob(context.Background(), &qm.OperatorJob{Kind: t.kind, ID: h.ID, Tenant: h.Tenant, Node: t.node,
			Running: h.State == jobRunning, CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt, Body: body})
	}
	if err != nil {
		t.logger.Warn("store the state of a "+t.kind, "job", h.ID, "err", err)
		return
	}
	t.saved[h.ID] = t.now()
}

// expired says whether j is forgotten by now.
func (t *jobTable[J, P]) expired(j P) bool {
	return j.head().State != jobRunning && !t.now().Before(j.head().ExpiresAt)
}

// forget drops the jobs past their expiry and returns the ids of this
// node's jobs kept.
func (t *jobTable[J, P]) forget(ctx context.Context) map[string]bool {
	if t.store != nil {
		if err := t.store.ForgetJobs(ctx, t.now()); err != nil {
			t.logger.Warn("forget the expired "+t.kind+"s", "err", err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	keep := map[string]bool{}
	for id, j := range t.jobs {
		if t.expired(j) {
			delete(t.jobs, id)
			delete(t.saved, id)
		} else {
			keep[id] = true
		}
	}
	return keep
}

// get returns a copy of job id, this node's or, from the store, another's.
// ENotFound, also for a job expired.
func (t *jobTable[J, P]) get(ctx context.Context, id string) (J, error) {
	var none J
	notFound := qm.Errorf(qm.ENotFound, "no %s %q (one is kept for %v after it ends)", t.kind, id, t.life)
	t.mu.Lock()
	j, ok := t.jobs[id]
	var mine J
	if ok {
		mine = *j
	}
	t.mu.Unlock()
	switch {
	case ok && t.expired(&mine):
		return none, notFound
	case ok:
		return mine, nil
	case t.store == nil:
		return none, notFound
	}
	rec, err := t.store.Job(ctx, t.kind, id)
	if qm.ErrorCode(err) == qm.ENotFound {
		return none, notFound
	} else if err != nil {
		return none, err
	}
	theirs, err := t.fromStore(ctx, rec)
	if err == nil && t.expired(&theirs) {
		return none, notFound
	}
	return theirs, err
}

// fromStore is the job rec records. A job running on a node that stopped
// beating, or on this node but not in its memory (a run of this process
// that ended), failed.
func (t *jobTable[J, P]) fromStore(ctx context.Context, rec *qm.OperatorJob) (J, error) {
	var j J
	if err := json.Unmarshal(rec.Body, &j); err != nil {
		return j, fmt.Errorf("the stored %s %s: %w", t.kind, rec.ID, err)
	}
	if h := P(&j).head(); h.State == jobRunning {
		alive := false
		if rec.Node != t.node {
			var err error
			if alive, err = t.store.NodeAlive(ctx, rec.Node, nodeSilence); err != nil {
				return j, err
			}
		}
		if !alive {
			h.State, h.Error = jobFailed, "node "+rec.Node+" stopped before the "+t.kind+" finished"
		}
	}
	return j, nil
}

// nodeSilence is how long a node may be silent and still be taken for
// alive: three of its heartbeats.
const nodeSilence = 3 * rates.HeartbeatEvery

// list returns copies of the jobs, of the tenant when not empty, newest
// first: this node's, and the store's of the others.
func (t *jobTable[J, P]) list(ctx context.Context, tenant string) ([]J, error) {
	t.mu.Lock()
	out := []J{}
	mine := map[string]bool{}
	for id, j := range t.jobs {
		mine[id] = true
		if (tenant == "" || P(j).head().Tenant == tenant) && !t.expired(j) {
			out = append(out, *j)
		}
	}
	t.mu.Unlock()
	if t.store != nil {
		recs, err := t.store.Jobs(ctx, t.kind, tenant)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if mine[rec.ID] {
				continue
			}
			j, err := t.fromStore(ctx, rec)
			if err != nil {
				return nil, err
			}
			if !t.expired(&j) {
				out = append(out, j)
			}
		}
	}
	slices.SortFunc(out, func(a, b J) int {
		ha, hb := P(&a).head(), P(&b).head()
		if c := hb.CreatedAt.Compare(ha.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(hb.ID, ha.ID)
	})
	return out, nil
}

// update changes job id under the lock, and stores it when it was last
// stored saveEvery ago or more.
func (t *jobTable[J, P]) update(id string, change func(j P)) { t.change(id, change, false) }

// mark changes job id under the lock, and stores it at once: a step
// every node should show.
func (t *jobTable[J, P]) mark(id string, change func(j P)) { t.change(id, change, true) }

func (t *jobTable[J, P]) change(id string, change func(j P), store bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.jobs[id]; ok {
		change(j)
		if store || t.now().Sub(t.saved[id]) >= saveEvery {
			t.save(j)
		}
	}
}

// finish records how job id ended, err being what its work returned
// under jobCtx, and logs an internal error.
func (t *jobTable[J, P]) finish(jobCtx context.Context, id string, err error) {
	var tenant string
	t.mark(id, func(j P) {
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
