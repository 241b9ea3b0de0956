package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/quartermaster/qm"
)

// moveLife is how long a move's job is kept after it ended.
const moveLife = 24 * time.Hour

// moveRequest says where the operator moves a tenant: a tier, and for a
// silo on PostgreSQL the server (empty: the main one).
type moveRequest struct {
	Tier   qm.Tier `json:"tier"`
	Server string  `json:"server,omitempty"`
}

// tenantPlace is where a tenant's data lives.
type tenantPlace struct {
	Tier      qm.Tier      `json:"tier"`
	Placement qm.Placement `json:"placement"`
}

func placeOf(t *qm.Tenant) tenantPlace { return tenantPlace{Tier: t.Tier, Placement: t.Placement} }

// moveJob is a move of a tenant to another tier or server, run in the
// background (lifecycle.Move, as `quartermaster tenant move` runs it).
type moveJob struct {
	jobHead
	// From is where the tenant's data was; To where it goes.
	From tenantPlace `json:"from"`
	To   tenantPlace `json:"to"`
	// Progress is the last table copied: its place among all, and its
	// rows; Rows counts the rows of every table copied so far.
	Progress qm.ArchiveProgress `json:"progress"`
	Rows     int64              `json:"rows"`
	// PausedAt is when the tenant's writes paused for the last pass, and
	// PauseMS how long they stayed paused, once the tenant is switched.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	PauseMS  *int64     `json:"pause_ms,omitempty"`
}

// moveJobList is a page of move jobs.
type moveJobList struct {
	Moves []moveJob `json:"moves"`
	pageInfo
}

// moves runs tenant moves in the background, a goroutine a job.
type moves struct {
	mover qm.TenantMover
	// node names this node; a move's lease is held as the node and the
	// job, not the node alone: the node's own recovery of dead moves
	// (RecoverMoves, run as the node) would take a lease held by the
	// node alone for its own and roll the running move back.
	node string
	jobs *jobTable[moveJob, *moveJob]
}

func newMoves(mover qm.TenantMover, store qm.OperatorJobs, node string, now func() time.Time, logger *slog.Logger) *moves {
	return &moves{mover: mover, node: node, jobs: newJobTable[moveJob]("move", moveLife, store, node, now, logger)}
}

// start moves tenant slug where req says in the background, with ctx's
// principal but not its end, and returns the job once the tenant is
// moving; a move refused (the place it is in, a tier the engine cannot
// host, a tenant moving already) is its error, and makes no job.
func (m *moves) start(ctx context.Context, slug string, req moveRequest) (moveJob, error) {
	if m.mover == nil {
		return moveJob{}, qm.Errorf(qm.EUnavailable, "this server does not move tenants")
	}
	head := m.jobs.newHead(slug)
	begun := make(chan error, 1) // nil once the tenant is moving
	m.jobs.running.Go(ctx, func(jobCtx context.Context) {
		moving := false
		_, err := m.mover.MoveTenant(jobCtx, slug, qm.TenantMove{Tier: req.Tier, Server: req.Server, Holder: m.node + "/move/" + head.ID,
			Begun: func(from, to *qm.Tenant) {
				head.Tenant = from.Slug
				m.jobs.add(&moveJob{jobHead: head, From: placeOf(from), To: placeOf(to)})
				moving = true
				begun <- nil
			},
			Progress: func(p qm.ArchiveProgress) {
				m.jobs.update(head.ID, func(j *moveJob) { j.Progress, j.Rows = p, j.Rows+p.Rows })
			},
			Paused: func() {
				at := m.jobs.now().UTC()
				m.jobs.mark(head.ID, func(j *moveJob) { j.PausedAt = &at })
			},
			Switched: func(pause time.Duration) {
				ms := pause.Milliseconds()
				m.jobs.mark(head.ID, func(j *moveJob) { j.PauseMS = &ms })
			},
		})
		if !moving {
			begun <- err
			return
		}
		m.jobs.finish(jobCtx, head.ID, err)
	})
	if err := <-begun; err != nil {
		return moveJob{}, err
	}
	return m.jobs.get(ctx, head.ID)
}

// startMove answers 202 with a job moving the tenant in the background,
// once it is moving (served on while its data is copied, then answered
// 503 for the short pause of the last pass); GET the job to follow it.
func (s *Server) startMove(w http.ResponseWriter, r *http.Request) error {
	s.moves.jobs.forget(r.Context())
	var req moveRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	j, err := s.moves.start(r.Context(), r.PathValue("tenant"), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/operator/moves/"+j.ID)
	return reply(w, http.StatusAccepted, j, nil)
}

func (s *Server) getMove(w http.ResponseWriter, r *http.Request) error {
	s.moves.jobs.forget(r.Context())
	j, err := s.moves.jobs.get(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, j, err)
}

func (s *Server) listMoves(w http.ResponseWriter, r *http.Request) error {
	s.moves.jobs.forget(r.Context())
	js, err := s.moves.jobs.list(r.Context(), r.URL.Query().Get("tenant"))
	js, page, err := listPage(r, js, err)
	return reply(w, http.StatusOK, moveJobList{js, page}, err)
}
