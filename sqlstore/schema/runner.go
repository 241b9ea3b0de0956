package schema

import (
	"context"
	"sync"

	"github.com/quartermaster/qm"
)

// Target is one place tenant data lives that is migrated as a unit: the pool
// (every pool tenant at once), or one bridge schema or silo database.
type Target struct {
	// Name says which place this is, for progress and failure reports.
	Name string
	// Tenants are the tenants whose data lives there.
	Tenants []*qm.Tenant
	// Migrate brings the place to the newest version and returns it.
	Migrate func(ctx context.Context) (int, error)
}

// Progress reports one finished target.
type Progress struct {
	Target  string
	Tenants int   // tenants in the target
	Done    int   // tenants finished so far, this one included
	Total   int   // tenants in the whole run
	Version int   // version reached
	Err     error // nil on success
}

// Failure is a target that could not be migrated.
type Failure struct {
	Target  string
	Tenants []string // slugs
	Err     error
}

// RunReport sums up a migration run.
type RunReport struct {
	Targets  int
	Tenants  int
	Failures []Failure
}

// RunMigrations migrates targets, at most parallel at a time, records each
// target's version for its tenants with record, and reports each finished
// target to progress (called from one goroutine at a time). A failed target
// does not stop the others. Cancelling ctx stops starting new targets; those
// under way finish or roll back their current step.
func RunMigrations(ctx context.Context, targets []Target, parallel int, record func(ctx context.Context, tenants []*qm.Tenant, version int) error, progress func(Progress)) RunReport {
	if parallel < 1 {
		parallel = 1
	}
	rep := RunReport{Targets: len(targets)}
	for _, t := range targets {
		rep.Tenants += len(t.Tenants)
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallel)
	)
	finish := func(t Target, v int, err error) {
		mu.Lock()
		defer mu.Unlock()
		done += len(t.Tenants)
		if err != nil {
			slugs := make([]string, len(t.Tenants))
			for i, tn := range t.Tenants {
				slugs[i] = tn.Slug
			}
			rep.Failures = append(rep.Failures, Failure{Target: t.Name, Tenants: slugs, Err: err})
		}
		if progress != nil {
			progress(Progress{Target: t.Name, Tenants: len(t.Tenants), Done: done, Total: rep.Tenants, Version: v, Err: err})
		}
	}
	for _, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			finish(t, 0, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := t.Migrate(ctx)
			if err == nil && len(t.Tenants) > 0 {
				err = record(ctx, t.Tenants, v)
			}
			finish(t, v, err)
		}()
	}
	wg.Wait()
	return rep
}
