package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
)

// importJobs runs imports in the background, a goroutine a job. The store
// records each job, and how far a running one has come, so any node can
// say how one is going or how it ended.
type importJobs struct {
	node string // this node, as it beats (Config.Node)
	// process names this run of the node: a job is recorded with it, so
	// that a job recorded running by an earlier run, which stopped, is
	// told from one running now.
	process string
	// nodes says whether another node is alive (nil: there is none).
	nodes  qm.OperatorJobs
	store  qm.ImportJobService
	assets qm.AssetService
	logger *slog.Logger
	// running are the jobs under way, stopped with the server.
	running *background
}

// progressEvery is how often a running job records how far it has come.
const progressEvery = time.Second

// progress is how far a running job has read.
type progress struct {
	bytes, rows atomic.Int64
}

func newImportJobs(store qm.ImportJobService, assets qm.AssetService, node string, nodes qm.OperatorJobs, logger *slog.Logger) *importJobs {
	return &importJobs{node: node, process: node + "#" + randomHex(4), nodes: nodes, store: store, assets: assets, logger: logger, running: newBackground()}
}

// settle reports each of js that is recorded running but that no process
// runs as failed: its node stopped (this one, in an earlier run, or
// another, silent for nodeSilence) before it finished, and its
// transaction rolled back.
func (ij *importJobs) settle(ctx context.Context, js ...*qm.ImportJob) error {
	for _, j := range js {
		if j.Status != qm.ImportRunning || j.Node == ij.process {
			continue
		}
		node, _, _ := strings.Cut(j.Node, "#")
		alive := false
		if node != ij.node && ij.nodes != nil {
			var err error
			if alive, err = ij.nodes.NodeAlive(ctx, node, nodeSilence); err != nil {
				return err
			}
		}
		if !alive {
			j.Status, j.Error = qm.ImportFailed, "node "+node+" stopped before the import finished; nothing was imported"
		}
	}
	return nil
}

// shutdown stops the running jobs (their transactions roll back, so
// nothing is half-imported) and waits until each has recorded so.
func (ij *importJobs) shutdown() { ij.running.shutdown() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingImporter counts the rows an import reads.
type countingImporter struct {
	im   assetcsv.Importer
	rows *atomic.Int64
}

func (c countingImporter) Import(ctx context.Context, next func() (*qm.ImportRow, error), opts qm.ImportOptions) (*qm.ImportReport, error) {
	return c.im.Import(ctx, func() (*qm.ImportRow, error) {
		row, err := next()
		if err == nil {
			c.rows.Add(1)
		}
		return row, err
	}, opts)
}

// start records a job for the file and runs it in the background. The
// file is the job's: it is removed when the job ends. j is as the job
// started; the job's end is recorded in the store.
func (ij *importJobs) start(ctx context.Context, file *os.File, j *qm.ImportJob) error {
	p := &progress{}
	rd, err := assetcsv.NewReader(countingReader{file, &p.bytes}, j.Options)
	if err != nil {
		return err
	}
	j.Node = ij.process
	if err := ij.store.StartImportJob(ctx, j); err != nil {
		return err
	}
	// The job records its end on a copy of its own: the caller answers
	// with j while the job runs.
	j = new(*j)
	ij.running.Go(ctx, func(jobCtx context.Context) {
		defer os.Remove(file.Name())
		defer file.Close()
		reported := ij.report(jobCtx, j.ID, p)
		rep, err := rd.Import(jobCtx, countingImporter{ij.assets, &p.rows})
		reported()
		j.RowsRead = int(p.rows.Load())
		switch {
		case err == nil:
			j.Status, j.Report = qm.ImportDone, rep
			if e := stoppedByBadRows(rep); e != nil {
				j.Status, j.Error = qm.ImportFailed, e.Message
			}
		case jobCtx.Err() != nil:
			j.Status, j.Error = qm.ImportFailed, "the server stopped before the import finished; nothing was imported"
		default:
			j.Status, j.Error = qm.ImportFailed, qm.ErrorMessage(err)
			if qm.ErrorCode(err) == qm.EInternal {
				ij.logger.Error("import job failed", "job", j.ID, "err", err)
			}
		}
		if err := ij.store.FinishImportJob(context.WithoutCancel(jobCtx), j); err != nil {
			ij.logger.Error("record the end of an import job", "job", j.ID, "err", err)
		}
	})
	return nil
}

// report records p, job id's progress, every progressEvery while it
// changes, until the returned function is called (which waits for it).
func (ij *importJobs) report(ctx context.Context, id string, p *progress) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if p.bytes.Load() == last {
				continue
			}
			last = p.bytes.Load()
			if err := ij.store.ReportProgress(ctx, &qm.ImportJob{ID: id, BytesRead: last, RowsRead: int(p.rows.Load())}); err != nil {
				ij.logger.Warn("record an import job's progress", "job", id, "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// importParams are the query parameters importOptions reads.
var importParams = []string{"dry_run", "skip_bad_rows", "company_as_department", "encoding", "date_format", "invite_missing_users", "invite_role"}

// importOptions reads importParams.
func importOptions(r *http.Request) qm.ImportOptions {
	q := r.URL.Query()
	return qm.ImportOptions{DryRun: q.Get("dry_run") == "true", SkipBadRows: q.Get("skip_bad_rows") == "true",
		CompanyAsDepartment: q.Get("company_as_department") == "true", Encoding: q.Get("encoding"), DateFormat: q.Get("date_format"),
		InviteMissingUsers: q.Get("invite_missing_users") == "true", InviteRole: q.Get("invite_role")}
}

// uploadTime is how long an import may take to arrive (and, when it runs
// while the client waits, to run).
const uploadTime = 30 * time.Minute

// startImport takes a CSV file (as importAssets does) and answers 202 with
// a job that imports it in the background; GET the job to follow it. The
// file goes to a temporary file first, so memory stays bounded.
func (s *Server) startImport(w http.ResponseWriter, r *http.Request) error {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
	body, name, err := csvBody(r)
	if err != nil {
		return err
	}
	defer body.Close()
	file, err := os.CreateTemp("", "qm-import-*.csv")
	if err != nil {
		return err
	}
	n, err := io.Copy(file, body)
	if err == nil {
		_, err = file.Seek(0, io.SeekStart)
	}
	if err == nil {
		j := &qm.ImportJob{FileName: name, Options: importOptions(r), Bytes: n}
		if err = s.imports.start(r.Context(), file, j); err == nil {
			w.Header().Set("Location", r.URL.Path+"/"+j.ID)
			return reply(w, http.StatusAccepted, j, nil)
		}
	}
	file.Close()
	os.Remove(file.Name())
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	}
	return err
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) error {
	j, err := s.svc.ImportJobs.ImportJob(r.Context(), r.PathValue("id"))
	if err == nil {
		err = s.imports.settle(r.Context(), j)
	}
	return reply(w, http.StatusOK, j, err)
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) error {
	js, err := s.svc.ImportJobs.ImportJobs(r.Context())
	js, page, err := listPage(r, js, err)
	if err == nil {
		err = s.imports.settle(r.Context(), js...)
	}
	return reply(w, http.StatusOK, importJobList{js, page}, err)
}
