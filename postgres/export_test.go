package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ServingPool is the pool db's requests run on, for tests that look at
// its connections between requests.
func ServingPool(db *DB) *pgxpool.Pool { return db.serve }

// PoolDistribution is the order Setup distributes the pool's tables in on
// Citus.
func PoolDistribution(ctx context.Context, db *DB) ([]string, error) { return db.poolDistribution(ctx) }
