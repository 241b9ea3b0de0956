package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm/sqlstore/catalog"
)

// notices are the catalog's notices between the nodes sharing the main
// database: LISTEN and NOTIFY, on the privileged role's connections.
type notices struct{ db *DB }

var _ catalog.Notices = notices{}

// Listen listens on a connection of its own, outside the pool: a LISTEN
// holds its connection.
func (n notices) Listen(ctx context.Context, channel string, listening func(), heard func(payload string)) error {
	conn, err := pgx.ConnectConfig(ctx, n.db.admin.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", channel, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", channel, err)
	}
	listening()
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", channel, err)
		}
		heard(note.Payload)
	}
}

// Notify sends the payloads in one statement, so in one transaction: one
// round trip, and one commit. The commit does not wait for the disk
// (synchronous_commit off, for this transaction only): the notices are
// sent on commit whatever the disk, and the transaction writes nothing
// else worth waiting for.
func (n notices) Notify(ctx context.Context, channel string, payloads []string) error {
	_, err := n.db.admin.Exec(ctx, `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, p) FROM unnest($2::text[]) AS p`, channel, payloads)
	if err != nil {
		return fmt.Errorf("notify on %s: %w", channel, err)
	}
	return nil
}
