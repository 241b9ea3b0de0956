package httpapi

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// archiveFile is a tenant archive: a gzipped tar.
const archiveFile = mediaFile("application/gzip")

// exportLife is how long an export's archive may be downloaded after the
// export ended.
const exportLife = 24 * time.Hour

// exportJob is an export of a whole tenant, run in the background, whose
// archive the operator downloads. Its head's ExpiresAt is when the job
// and its archive are forgotten: a day after the export ended.
type exportJob struct {
	jobHead
	// Progress is the last table written.
	Progress qm.ArchiveProgress `json:"progress"`
	// Bytes is the archive's size, so far while it runs.
	Bytes int64 `json:"bytes"`
}

// exportJobList is a page of export jobs.
type exportJobList struct {
	Exports []exportJob `json:"exports"`
	pageInfo
}

// importedTenant is a tenant made of an archive, with the report of what
// became of its people, devices and webhooks; the secrets in it are shown
// this once.
type importedTenant struct {
	Tenant qm.Tenant             `json:"tenant"`
	Report qm.TenantImportReport `json:"report"`
}

// exports runs tenant exports in the background, a goroutine a job, and
// keeps their archives in dir, each written under <id>.part and renamed
// to <id>.qmx.gz once whole. The jobs live in this process's memory
// (jobTable), and so do their archives on its disk: a server restarted
// forgets them, and its janitor removes the archives.
type exports struct {
	dir      string
	archiver qm.TenantArchiver
	logger   *slog.Logger
	jobs     *jobTable[exportJob, *exportJob]
}

func newExports(dir string, archiver qm.TenantArchiver, store qm.OperatorJobs, node string, now func() time.Time, logger *slog.Logger) *exports {
	x := &exports{dir: dir, archiver: archiver, logger: logger, jobs: newJobTable[exportJob]("export", exportLife, store, node, now, logger)}
	x.sweep(context.Background())
	return x
}

// errNoArchives answers on a server configured without an archiver or a
// directory for archives.
var errNoArchives = qm.Errorf(qm.EUnavailable, "this server does not export or import tenants")

func (x *exports) ready() error {
	if x.dir == "" || x.archiver == nil {
		return errNoArchives
	}
	return nil
}

// shutdown stops the running exports (their partial archives are
// removed) and waits until each has.
func (x *exports) shutdown() { x.jobs.shutdown() }

func (x *exports) archivePath(id string) string { return filepath.Join(x.dir, id+".qmx.gz") }
func (x *exports) partPath(id string) string    { return filepath.Join(x.dir, id+".part") }

// sweep is the janitor: it forgets the jobs past their expiry and removes
// every file of the directory that is not a known job's, such as the
// archives of a process that ran before this one. It runs when the
// server starts and on each request about exports, so no timer is needed.
func (x *exports) sweep(ctx context.Context) {
	if x.dir == "" {
		return
	}
	keep := x.jobs.forget(ctx)
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		x.logger.Warn("read the export directory", "dir", x.dir, "err", err)
		return
	}
	for _, e := range entries {
		id, _, _ := strings.Cut(e.Name(), ".")
		if keep[id] {
			continue
		}
		if err := os.Remove(filepath.Join(x.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			x.logger.Warn("remove an expired export", "file", e.Name(), "err", err)
		}
	}
}

// start records an export of tenant slug and runs it in the background,
// with ctx's principal but not its end.
func (x *exports) start(ctx context.Context, slug string) (exportJob, error) {
	j := &exportJob{jobHead: x.jobs.newHead(slug)}
	file, err := os.OpenFile(x.partPath(j.ID), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return exportJob{}, err
	}
	started := *j
	x.jobs.add(j)
	x.jobs.running.Go(ctx, func(jobCtx context.Context) {
		size, err := x.write(jobCtx, j.ID, slug, file)
		if err == nil {
			x.jobs.update(j.ID, func(j *exportJob) { j.Bytes = size })
		}
		x.jobs.finish(jobCtx, j.ID, err)
	})
	return started, nil
}

// write exports the tenant, gzipped, to file, and renames it to the
// archive's name once whole; on failure it removes it.
func (x *exports) write(ctx context.Context, id, slug string, file *os.File) (size int64, err error) {
	defer func() {
		if err != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}()
	counted := &countingWriter{w: file}
	buf := bufio.NewWriterSize(counted, 1<<16)
	zw := gzip.NewWriter(buf)
	err = x.archiver.ExportTenant(ctx, slug, zw, func(p qm.ArchiveProgress) {
		x.jobs.update(id, func(j *exportJob) { j.Progress, j.Bytes = p, counted.n })
	})
	if err != nil {
		return 0, err
	}
	if err = zw.Close(); err != nil {
		return 0, err
	}
	if err = buf.Flush(); err != nil {
		return 0, err
	}
	if err = file.Sync(); err != nil {
		return 0, err
	}
	if err = file.Close(); err != nil {
		return 0, err
	}
	if err = os.Rename(file.Name(), x.archivePath(id)); err != nil {
		return 0, err
	}
	return counted.n, nil
}

// countingWriter counts the bytes written through it. Only the export's
// goroutine touches n, and reads it in the progress callback.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// startExport answers 202 with a job exporting the tenant in the
// background; GET the job to follow it, and its archive once done.
func (s *Server) startExport(w http.ResponseWriter, r *http.Request) error {
	s.exports.sweep(r.Context())
	if err := s.exports.ready(); err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	if t.State == qm.StateProvisioning {
		return qm.Errorf(qm.EConflict, "tenant %s is still being created", t.Slug)
	}
	j, err := s.exports.start(r.Context(), t.Slug)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/operator/exports/"+j.ID)
	return reply(w, http.StatusAccepted, j, nil)
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	s.exports.sweep(r.Context())
	j, err := s.exports.jobs.get(r.Context(), r.PathValue("id"))
	return reply(w, http.StatusOK, j, err)
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	s.exports.sweep(r.Context())
	js, err := s.exports.jobs.list(r.Context(), r.URL.Query().Get("tenant"))
	js, page, err := listPage(r, js, err)
	return reply(w, http.StatusOK, exportJobList{js, page}, err)
}

// downloadExport answers the archive of a finished export, with a name
// that says whose and when, while it is kept.
func (s *Server) downloadExport(w http.ResponseWriter, r *http.Request) error {
	s.exports.sweep(r.Context())
	j, err := s.exports.jobs.get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if j.State != jobDone {
		return qm.Errorf(qm.EConflict, "export %s is %s: it has no archive", j.ID, j.State)
	}
	if j.Node != s.exports.jobs.node {
		return qm.Errorf(qm.EConflict, "the archive of export %s is kept by node %s, which made it: download it through that node, or export again through this one", j.ID, j.Node)
	}
	f, err := os.Open(s.exports.archivePath(j.ID))
	if errors.Is(err, os.ErrNotExist) {
		return qm.Errorf(qm.ENotFound, "no export %q", j.ID)
	} else if err != nil {
		return err
	}
	defer f.Close()
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(uploadTime))
	name := j.Tenant + "-" + j.CreatedAt.UTC().Format("2006-01-02") + ".qmx.gz"
	w.Header().Set("Content-Type", string(archiveFile))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", j.CreatedAt, f)
	return nil
}

// tenantImportParams are the query parameters importTenant reads.
var tenantImportParams = []string{"slug", "name", "tier", "server"}

// importTenant makes a new tenant of the archive in the body (raw, or the
// form field "file"), as the query says, and answers it with the report.
// It runs while the client waits: the import streams the body into the
// new tenant, which becomes active only once verified, and leaves nothing
// when it fails.
func (s *Server) importTenant(w http.ResponseWriter, r *http.Request) error {
	if err := s.exports.ready(); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(uploadTime))
	rc.SetWriteDeadline(time.Now().Add(uploadTime))
	q := r.URL.Query()
	opts := qm.TenantImport{Slug: q.Get("slug"), Name: q.Get("name"), Tier: qm.Tier(q.Get("tier")), Server: q.Get("server")}
	if opts.Slug == "" {
		return &qm.Error{Code: qm.EInvalid, Message: "name the new tenant's slug (?slug=)", Fields: map[string]string{"slug": "required"}}
	}
	body, err := archiveBody(r)
	if err != nil {
		return err
	}
	defer body.Close()
	watched := &bodyWatch{r: body}
	t, rep, err := s.exports.archiver.ImportTenant(r.Context(), watched, opts)
	if watched.tooLarge {
		return errTooLarge
	}
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(s.cfg.PublicURL, "/")
	for i := range rep.Invited {
		rep.Invited[i].Link = base + rep.Invited[i].Link
	}
	return reply(w, http.StatusCreated, importedTenant{*t, *rep}, nil)
}

// bodyWatch notes a body cut for being too large, which the import
// reports as a damaged archive.
type bodyWatch struct {
	r        io.Reader
	tooLarge bool
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		b.tooLarge = true
	}
	return n, err
}

// archiveBody is the archive a request sends: the body itself, or the
// form field "file" of a multipart body.
func archiveBody(r *http.Request) (io.ReadCloser, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/gzip", "application/x-gzip", "application/x-tar", "application/octet-stream":
		return r.Body, nil
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, qm.Errorf(qm.EBadRequest, "the multipart body is not readable: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, qm.Errorf(qm.EBadRequest, `send the archive in a form field named "file"`)
			}
			if part.FormName() == "file" {
				return part, nil
			}
			part.Close()
		}
	}
	return nil, qm.Errorf(qm.EUnsupportedMedia, "send the archive as application/gzip, application/octet-stream or multipart/form-data")
}
