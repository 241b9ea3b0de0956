package pgtest

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Routing is a pgx tracer that checks the rule Citus routes by: every
// statement a data-plane connection sends names its tenant by equality
// on tenant_id for each tenant table it reads or changes, so Citus can
// send it to the one shard holding the tenant; and no INSERT … SELECT
// leaves Citus only COPY (insertedByCopy). It records every statement
// the connections it traces run without an error, and when the test ends
// has PostgreSQL plan each distinct one, as a superuser (no row-level
// security, whose policy would name the tenant for any statement), with
// the arguments it was first sent with, against the pool's tables; it
// fails the test for each scan of a table with a tenant_id whose
// conditions do not hold tenant_id = a value.
type Routing struct {
	mu   sync.Mutex
	sent map[string][]any // statement → its first arguments
}

// CheckRouting returns a tracer (postgres.Config.Tracer) whose statements
// are checked against the database of superuser URL dbURL when the test
// ends, before the database is dropped if NewDatabase made it first.
func CheckRouting(t testing.TB, dbURL string) *Routing {
	r := &Routing{sent: map[string][]any{}}
	t.Cleanup(func() {
		for _, problem := range r.check(dbURL) {
			t.Error(problem)
		}
	})
	return r
}

type traced struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (r *Routing) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traced{}, data)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (r *Routing) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if start, ok := ctx.Value(traced{}).(pgx.TraceQueryStartData); ok && data.Err == nil {
		r.record(start.SQL, start.Args)
	}
}

// TraceBatchStart implements pgx.BatchTracer.
func (r *Routing) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (r *Routing) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	if data.Err == nil {
		r.record(data.SQL, data.Args)
	}
}

// TraceBatchEnd implements pgx.BatchTracer.
func (r *Routing) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// planned are the statements PostgreSQL plans, which EXPLAIN takes.
var planned = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b`)

func (r *Routing) record(sql string, args []any) {
	if !planned.MatchString(sql) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sent[sql]; !ok {
		r.sent[sql] = args
	}
}

// byTenant is a condition on tenant_id equal to a value: a parameter or a
// constant uuid, as the planner shows either.
var byTenant = regexp.MustCompile(`(^|[(. ])tenant_id = (\$\d+|'[0-9a-f-]{36}'::uuid)|(\$\d+|'[0-9a-f-]{36}'::uuid) = ([a-z_]+\.)?tenant_id\b`)

// insertSelectOfParameter is an INSERT … SELECT whose tenant_id is a
// parameter, not a column of a table read: Citus cannot run it on the
// tenant's shard, so it runs the SELECT on the coordinator and sends the
// rows to the shard by COPY, which PostgreSQL refuses into a table with
// row-level security, unless the statement has ON CONFLICT or RETURNING
// (then it inserts them).
var insertSelectOfParameter = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+\S+\s*\(\s*tenant_id\b[^)]*\)\s*SELECT\s+\$\d+\s*,`)

// insertedByCopy reports whether Citus would insert the rows of sql by
// COPY (see insertSelectOfParameter).
func insertedByCopy(sql string) bool {
	upper := strings.ToUpper(sql)
	return insertSelectOfParameter.MatchString(sql) && !strings.Contains(upper, "ON CONFLICT") && !strings.Contains(upper, "RETURNING")
}

// check plans every statement recorded and returns the problems found.
func (r *Routing) check(dbURL string) []string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return []string{fmt.Sprintf("routing check: %v", err)}
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = 'pool' AND c.relkind IN ('r', 'p')`)
	if err != nil {
		return []string{fmt.Sprintf("routing check: tenant tables: %v", err)}
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		return []string{fmt.Sprintf("routing check: tenant tables: %v, %v", tables, err)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var problems []string
	for _, sql := range slices.Sorted(maps.Keys(r.sent)) {
		if insertedByCopy(sql) {
			problems = append(problems, "an INSERT … SELECT whose tenant_id is a parameter, which Citus sends to the shard by COPY, refused by row-level security "+
				"(select the tenant_id of a table read, or add ON CONFLICT): "+sql)
		}
		var plan []struct{ Plan planNode }
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL search_path = pool`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+sql, r.sent[sql]...).Scan(&plan)
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("routing check: plan %s: %v", sql, err))
			continue
		}
		for _, p := range plan {
			for _, scan := range p.Plan.unrouted(tables) {
				problems = append(problems, fmt.Sprintf("a %s of %s names no tenant by equality, which Citus needs to route it to one shard (%s): %s",
					scan.Type, scan.Relation, strings.Join(scan.conditions(), "; "), sql))
			}
		}
	}
	return problems
}

// planNode is a node of EXPLAIN's JSON.
type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexCond string     `json:"Index Cond"`
	Recheck   string     `json:"Recheck Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) conditions() []string {
	var conds []string
	for _, c := range []string{n.IndexCond, n.Recheck, n.Filter} {
		if c != "" {
			conds = append(conds, c)
		}
	}
	// A bitmap heap scan's index conditions are its children's.
	for _, child := range n.Plans {
		if child.Relation == "" && child.IndexCond != "" {
			conds = append(conds, child.IndexCond)
		}
	}
	return conds
}

// unrouted returns the scans under n of tables whose conditions name no
// tenant by equality. A ModifyTable node names its table without scanning
// it: an UPDATE's or DELETE's scan is its child, an INSERT names its
// tenant in the rows it adds.
func (n planNode) unrouted(tables []string) []planNode {
	var found []planNode
	if n.Relation != "" && n.Type != "ModifyTable" && slices.Contains(tables, n.Relation) &&
		!slices.ContainsFunc(n.conditions(), byTenant.MatchString) {
		found = append(found, n)
	}
	for _, child := range n.Plans {
		found = append(found, child.unrouted(tables)...)
	}
	return found
}
