package sqlstore

import (
	"context"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// Room checks, in c's transaction, that the tenant in ctx may add adding
// more of what cap key counts, as count tells: ELimitReached naming the cap,
// its value and the count. While a cap is set, it first locks the tenant's
// row of limit_locks for key, so two transactions at once cannot both take
// the last place (on SQLite, writers take turns anyway); a tenant without
// the cap pays nothing.
func Room(ctx context.Context, c Conn, key qm.Limit, adding int64, count func() (int64, error)) error {
	if adding <= 0 {
		return nil
	}
	limits, capped, err := LockCap(ctx, c, key)
	if err != nil || !capped {
		return err
	}
	n, err := count()
	if err != nil {
		return fmt.Errorf("count for %s: %w", key, err)
	}
	return limits.Room(key, n, adding)
}

// LockCap returns the limits of the tenant in ctx and whether they cap key;
// when they do, it has locked the tenant's row of limit_locks for key in
// c's transaction.
func LockCap(ctx context.Context, c Conn, key qm.Limit) (qm.Effective, bool, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return qm.Effective{}, false, err
	}
	if t.Limits.Value(key) == 0 {
		return t.Limits, false, nil
	}
	if _, err := c.Exec(ctx, `INSERT INTO limit_locks (tenant_id, name) VALUES ($1, $2)
		ON CONFLICT (tenant_id, name) DO UPDATE SET name = excluded.name`, c.TenantID(), string(key)); err != nil {
		return qm.Effective{}, false, fmt.Errorf("lock %s: %w", key, err)
	}
	return t.Limits, true, nil
}

// CountRows is a count of the tenant's rows of table, for Room.
func CountRows(ctx context.Context, c Conn, table string) func() (int64, error) {
	return func() (n int64, err error) {
		err = c.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
		return n, err
	}
}
