package lifecycle

import (
	"context"
	"io"

	"github.com/quartermaster/qm"
)

// Archiver is Export, Import and Move as the domain's qm.TenantArchiver
// and qm.TenantMover, for the HTTP API.
type Archiver struct {
	e Engine
}

var (
	_ qm.TenantArchiver = (*Archiver)(nil)
	_ qm.TenantMover    = (*Archiver)(nil)
)

// NewArchiver returns the archiver of engine e.
func NewArchiver(e Engine) *Archiver { return &Archiver{e: e} }

// ExportTenant calls Export.
func (a *Archiver) ExportTenant(ctx context.Context, slug string, w io.Writer, progress func(qm.ArchiveProgress)) error {
	_, err := Export(ctx, a.e, slug, w, ExportOptions{Progress: progress})
	return err
}

// ImportTenant calls Import.
func (a *Archiver) ImportTenant(ctx context.Context, r io.Reader, opts qm.TenantImport) (*qm.Tenant, *qm.TenantImportReport, error) {
	t, rep, err := Import(ctx, a.e, r, ImportOptions{Slug: opts.Slug, Name: opts.Name, Tier: opts.Tier, Server: opts.Server})
	if err != nil {
		return nil, nil, err
	}
	return t, &rep, nil
}

// MoveTenant calls Move.
func (a *Archiver) MoveTenant(ctx context.Context, slug string, opts qm.TenantMove) (*qm.Tenant, error) {
	return Move(ctx, a.e, slug, opts)
}
