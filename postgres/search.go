package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// The search text of an asset (assetIndex) derives from its row and its
// model's name. Citus distributes no table with triggers, so since
// migration 0025 no trigger keeps the text on PostgreSQL: every statement
// of a tenant transaction passes through txConn's Exec, Query and QueryRow
// below, and the one that writes assets or models has the text of the
// rows it wrote brought up to date right after it, in the same
// transaction, whichever store, import or move sent it. A statement that
// writes them any other way (in a WITH, or through Query) is refused, so
// no writer can leave the text behind. (SQLite keeps its own index by
// triggers.)

// citusReady names the migration that drops the triggers.
const citusReady = "0025_citus_ready"

// keepsSearchFrom is the version of a tenant's data from which the engine
// keeps the search text, as migrations has it: that of citusReady, 0 for
// migrations without it (a build from before, which tests open), whose
// triggers keep the text. A tenant not yet migrated to it keeps its
// triggers too.
func keepsSearchFrom(migrations []schema.Migration) int {
	for _, m := range migrations {
		if m.Name == citusReady {
			return m.Version
		}
	}
	return 0
}

// txConn returns the tenant's connection, for the principal in ctx, in
// the transaction q runs in.
func (l located) txConn(ctx context.Context, q sqlstore.Querier) txConn {
	return txConn{Querier: q, Binding: sqlstore.Bind(ctx, l.t), keepsSearch: l.keepsSearchFrom > 0 && l.t.SchemaVersion >= l.keepsSearchFrom}
}

// searchedWrite finds a statement's writes to assets or models.
var searchedWrite = regexp.MustCompile(`(?i)\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(assets|models)\b`)

// searchedTable returns the table the search text derives from that sql
// writes, and whether it is an UPDATE: "" for a statement that writes
// neither. It refuses one whose write is not its head.
func searchedTable(sql string) (table string, update bool, err error) {
	m := searchedWrite.FindStringSubmatchIndex(sql)
	if m == nil {
		return "", false, nil
	}
	if strings.TrimSpace(sql[:m[0]]) != "" || len(searchedWrite.FindAllStringIndex(sql, 2)) > 1 {
		return "", false, fmt.Errorf("a statement writing %s must begin with its write, and write nothing else: the search index follows it", sql[m[4]:m[5]])
	}
	return strings.ToLower(sql[m[4]:m[5]]), strings.EqualFold(sql[m[2]:m[3]], "UPDATE"), nil
}

// Exec implements sqlstore.Querier. A statement that writes assets or
// models returns the ids of the rows it wrote, and their search text
// follows: that of the assets written, or of every asset of the models
// changed (a model added or deleted has no assets).
func (c txConn) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if !c.keepsSearch {
		return c.Querier.Exec(ctx, sql, args...)
	}
	table, update, err := searchedTable(sql)
	switch {
	case err != nil:
		return 0, err
	case table == "":
		return c.Querier.Exec(ctx, sql, args...)
	}
	var ids []string
	err = sqlstore.Each(ctx, c.Querier, func(r sqlstore.Row) error {
		var id string
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	}, sql+" RETURNING id", args...)
	if err != nil || len(ids) == 0 || (table == "models" && !update) {
		return int64(len(ids)), err
	}
	assets, models := ids, []string(nil)
	if table == "models" {
		assets, models = nil, ids
	}
	if _, err := c.Querier.Exec(ctx, `SELECT asset_search_refresh($1, $2, $3)`, c.TenantID(), assets, models); err != nil {
		return 0, fmt.Errorf("search index of %s: %w", table, err)
	}
	return int64(len(ids)), nil
}

// Query implements sqlstore.Querier; it refuses a write to assets or
// models, which must go through Exec.
func (c txConn) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	if err := c.refuseSearchedWrite(sql); err != nil {
		return nil, err
	}
	return c.Querier.Query(ctx, sql, args...)
}

// QueryRow implements sqlstore.Querier; it refuses a write to assets or
// models, which must go through Exec.
func (c txConn) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	if err := c.refuseSearchedWrite(sql); err != nil {
		return errRow{err}
	}
	return c.Querier.QueryRow(ctx, sql, args...)
}

// refuseSearchedWrite refuses a statement that writes assets or models
// when the engine keeps the search text.
func (c txConn) refuseSearchedWrite(sql string) error {
	if !c.keepsSearch {
		return nil
	}
	table, _, err := searchedTable(sql)
	if err == nil && table != "" {
		err = fmt.Errorf("a statement writing %s returns no rows: send it with Exec, which keeps the search index", table)
	}
	return err
}
