package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// ServingPool is the pool db's requests run on, for tests that look at
// its connections between requests.
func ServingPool(db *DB) *pgxpool.Pool { return db.serve }
