package pgtest

import (
	"context"
	"strings"
	"testing"
)

// TestRoutingCheck checks that the check tells a statement naming its
// tenant for every tenant table it reads from one that does not.
func TestRoutingCheck(t *testing.T) {
	url := NewDatabase(t)
	conn := MustConnect(t, url)
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA pool;
		CREATE TABLE pool.items (tenant_id uuid, id uuid, name text, PRIMARY KEY (tenant_id, id));
		CREATE TABLE pool.parts (tenant_id uuid, id uuid, item_id uuid, PRIMARY KEY (tenant_id, id))`); err != nil {
		t.Fatal(err)
	}
	tenant := "6f1c3a52-1d2e-4f4b-9a57-3c2d1e0f9a8b"
	for _, tc := range []struct {
		name, sql string
		routed    bool
	}{
		{"Equality", `SELECT name FROM items WHERE tenant_id = $1`, true},
		{"Update", `UPDATE items SET name = 'x' WHERE tenant_id = $1 AND id = $1`, true},
		{"JoinNamesBoth", `SELECT p.id FROM items i JOIN parts p ON p.tenant_id = i.tenant_id AND p.item_id = i.id WHERE i.tenant_id = $1`, true},
		{"Insert", `INSERT INTO items (tenant_id, id, name) VALUES ($1, $1, 'x')`, true},
		{"NoTenant", `SELECT name FROM items WHERE name = $1::text`, false},
		{"SubqueryByOuterRow", `SELECT (SELECT count(*) FROM parts p WHERE p.tenant_id = i.tenant_id AND p.item_id = i.id) FROM items i WHERE i.tenant_id = $1`, false},
		{"AnyTenant", `SELECT name FROM items WHERE tenant_id = ANY(ARRAY[$1::uuid])`, false},
		{"InsertSelectOfColumn", `INSERT INTO parts (tenant_id, id, item_id) SELECT i.tenant_id, i.id, i.id FROM items i WHERE i.tenant_id = $1`, true},
		{"InsertSelectOfParameter", `INSERT INTO parts (tenant_id, id, item_id) SELECT $1, i.id, i.id FROM items i WHERE i.tenant_id = $1`, false},
		{"InsertSelectOfParameterOnConflict", `INSERT INTO parts (tenant_id, id, item_id) SELECT $1, i.id, i.id FROM items i WHERE i.tenant_id = $1 ON CONFLICT DO NOTHING`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Routing{sent: map[string][]any{}}
			r.record(tc.sql, []any{tenant})
			problems := r.check(url)
			if routed := len(problems) == 0; routed != tc.routed {
				t.Fatalf("got routed %v, want %v: %s", routed, tc.routed, strings.Join(problems, "\n"))
			}
		})
	}
}
