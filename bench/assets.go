package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// assetWorld makes a pool tenant's category, models and status, and returns
// the models and the deployable status.
func assetWorld(ctx context.Context, e engine, models int) ([]string, string, error) {
	cat := &qm.Reference{Name: "Laptops"}
	if err := dataplane.NewReferenceStore(qm.Categories, e, time.Now).Create(ctx, cat); err != nil {
		return nil, "", err
	}
	var ids []string
	for i := range models {
		m := &qm.Model{Name: fmt.Sprintf("Model %d", i), CategoryID: cat.ID}
		if err := dataplane.NewModelStore(e, time.Now).CreateModel(ctx, m); err != nil {
			return nil, "", err
		}
		ids = append(ids, m.ID)
	}
	labels, err := dataplane.NewReferenceStore(qm.StatusLabels, e, time.Now).List(ctx)
	if err != nil || len(labels) == 0 {
		return nil, "", fmt.Errorf("status labels: %v", err)
	}
	return ids, labels[0].ID, nil
}

// loadAssets writes n assets straight into the tenant's table, 500 rows a
// statement: test data, not the path users take.
func loadAssets(ctx context.Context, e engine, n int, models []string, statuses []string) error {
	const batch = 500
	now := time.Now().UTC()
	for done := 0; done < n; done += batch {
		rows := min(batch, n-done)
		err := e.Update(ctx, func(c sqlstore.Conn) error {
			var sql strings.Builder
			sql.WriteString(`INSERT INTO assets (tenant_id, id, tag, name, serial, model_id, status_id, created_at, updated_at) VALUES `)
			args := make([]any, 0, rows*9)
			for i := range rows {
				k := done + i
				if i > 0 {
					sql.WriteString(", ")
				}
				p := len(args)
				fmt.Fprintf(&sql, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9)
				at := sqlstore.Timestamp(now.Add(time.Duration(k) * time.Second))
				args = append(args, c.TenantID(), sqlstore.NewID(), fmt.Sprintf("QM-%07d", k), fmt.Sprintf("Laptop %d", k*7919%n),
					fmt.Sprintf("SN%08d", k*104729%1000003), models[k%len(models)], statuses[k%len(statuses)], at, at)
			}
			_, err := c.Exec(ctx, sql.String(), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("load assets: %w", err)
		}
	}
	return nil
}

// assetList measures pages of 50 of the assets of one pool tenant holding
// n assets, beside others pool tenants holding 20 each.
func assetList(ctx context.Context, e engine, name string, n, others, reads int, progress io.Writer) ([]Result, error) {
	fmt.Fprintf(progress, "%s: %d other pool tenants with 20 assets each\n", name, others)
	for i := range others {
		tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: fmt.Sprintf("other-%d", i), Name: "Other", Tier: qm.TierPool})
		if err != nil {
			return nil, err
		}
		tctx := tenancy.WithTenant(ctx, tn)
		models, status, err := assetWorld(tctx, e, 1)
		if err == nil {
			err = loadAssets(tctx, e, 20, models, []string{status})
		}
		if err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(progress, "%s: one pool tenant with %d assets\n", name, n)
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "big", Name: "Big", Tier: qm.TierPool})
	if err != nil {
		return nil, err
	}
	tctx := tenancy.WithTenant(ctx, tn)
	models, status, err := assetWorld(tctx, e, 50)
	if err != nil {
		return nil, err
	}
	labels, err := dataplane.NewReferenceStore(qm.StatusLabels, e, time.Now).List(tctx)
	if err != nil {
		return nil, err
	}
	var statuses []string
	for _, l := range labels {
		statuses = append(statuses, l.ID)
	}
	if err := loadAssets(tctx, e, n, models, statuses); err != nil {
		return nil, err
	}
	store := dataplane.NewAssetStore(e, e.Identity(), time.Now)
	figures := []struct {
		label string
		f     func(i int) qm.AssetFilter
	}{
		{"status filter, sorted by name", func(int) qm.AssetFilter { return qm.AssetFilter{StatusID: status, Sort: "name", Limit: 50} }},
		{"model filter, newest first", func(i int) qm.AssetFilter {
			return qm.AssetFilter{ModelID: models[i%len(models)], Sort: "-created_at", Limit: 50}
		}},
		{"text search on serials", func(i int) qm.AssetFilter { return qm.AssetFilter{Q: fmt.Sprintf("SN%04d", i%10000), Limit: 50} }},
		// A model's name matches its assets, 2% of them, or, as "Model 1"
		// does, those of eleven models: broad searches.
		{"text search on model names", func(i int) qm.AssetFilter { return qm.AssetFilter{Q: fmt.Sprintf("model %d", i%50), Limit: 50} }},
		// Too short for a trigram index: every asset is read.
		{"text search of 2 characters", func(i int) qm.AssetFilter { return qm.AssetFilter{Q: fmt.Sprintf("%02d", i%100), Limit: 50} }},
	}
	var results []Result
	for _, fig := range figures {
		fmt.Fprintf(progress, "%s: %d pages, %s\n", name, reads, fig.label)
		var s Sample
		for i := range reads + 20 {
			var page *qm.AssetPage
			err := s.Time(func() (err error) {
				page, err = store.Assets(tctx, fig.f(i))
				return err
			})
			if err != nil {
				return nil, err
			}
			if i < 20 { // warm-up
				s = s[:0]
			}
			if want := min(50, page.Total); len(page.Assets) != want {
				return nil, fmt.Errorf("%s: got a page of %d, want %d", fig.label, len(page.Assets), want)
			}
		}
		target := "p99 < 20ms"
		if strings.HasPrefix(fig.label, "text search") {
			target = ""
		}
		results = append(results, s.Result(fmt.Sprintf("assets page of 50 of %d (%s), %s pool", n, fig.label, name), target))
	}
	return results, nil
}
