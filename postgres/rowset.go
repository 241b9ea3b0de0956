package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm/sqlstore"
)

// InsertRows implements sqlstore.Conn: every row travels in one parameter.
func (c txConn) InsertRows(ctx context.Context, rows sqlstore.RowSet, conflict string) (int64, error) {
	return insertAll(ctx, c, rows, conflict)
}

// InsertRowsReturning implements sqlstore.Conn: every row travels in one
// parameter.
func (c txConn) InsertRowsReturning(ctx context.Context, rows sqlstore.RowSet, conflict, returning string, fn func(sqlstore.Row) error) error {
	return insertReturning(ctx, c, rows, conflict, returning, fn)
}

// QueryRows implements sqlstore.Conn: every row travels in one parameter,
// and the query is planned for the rows and tables of the moment, not
// cached. The plan for a table a transaction is filling would be made while
// it was small, and could read all of it for each row once it is not.
func (c txConn) QueryRows(ctx context.Context, query string, rows sqlstore.RowSet, fn func(sqlstore.Row) error, args ...any) error {
	query, args, err := lateral(query, rows, args)
	if err != nil {
		return err
	}
	return sqlstore.Each(ctx, c, fn, query, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

// InsertRows implements sqlstore.Conn: every row travels in one parameter.
func (c viewConn) InsertRows(ctx context.Context, rows sqlstore.RowSet, conflict string) (int64, error) {
	return insertAll(ctx, c, rows, conflict)
}

// InsertRowsReturning implements sqlstore.Conn: every row travels in one
// parameter.
func (c viewConn) InsertRowsReturning(ctx context.Context, rows sqlstore.RowSet, conflict, returning string, fn func(sqlstore.Row) error) error {
	return insertReturning(ctx, c, rows, conflict, returning, fn)
}

// QueryRows implements sqlstore.Conn: every row travels in one parameter.
// The query goes in the scope's batch, so its plan is the cached one.
func (c viewConn) QueryRows(ctx context.Context, query string, rows sqlstore.RowSet, fn func(sqlstore.Row) error, args ...any) error {
	query, args, err := lateral(query, rows, args)
	if err != nil {
		return err
	}
	return sqlstore.Each(ctx, c, fn, query, args...)
}

// insertAll adds rows for c's tenant, and counts them by what RETURNING
// returns. Citus sends the rows of an INSERT … SELECT with neither
// RETURNING nor ON CONFLICT to the shards by COPY, which PostgreSQL
// refuses on a table with row-level security; and for one with ON
// CONFLICT it reports the rows it sent, not those added. A write of a
// table whose search text the connection keeps goes through Exec, which
// returns the ids of the rows it wrote, and counts those (search.go).
func insertAll(ctx context.Context, c sqlstore.Conn, rows sqlstore.RowSet, conflict string) (int64, error) {
	query, args, err := insertRows(c.TenantID(), rows, conflict)
	if err != nil {
		return 0, err
	}
	if table, _, err := searchedTable(query); err != nil || table != "" {
		return c.Exec(ctx, query, args...)
	}
	var n int64
	err = sqlstore.Each(ctx, c, func(sqlstore.Row) error {
		n++
		return nil
	}, query+" RETURNING 1", args...)
	return n, err
}

// insertRows returns the statement that adds rows for tenantID, and its
// arguments.
func insertRows(tenantID string, rows sqlstore.RowSet, conflict string) (string, []any, error) {
	set, arg, err := rowSet(rows, 2)
	columns := strings.Join(rows.Columns, ", ")
	return fmt.Sprintf("INSERT INTO %s (tenant_id, %s) SELECT $1, %s FROM %s AS r %s", rows.Table, columns, columns, set, conflict),
		[]any{tenantID, arg}, err
}

// insertReturning adds rows for c's tenant and calls fn with the returning
// columns of each row added.
func insertReturning(ctx context.Context, c sqlstore.Conn, rows sqlstore.RowSet, conflict, returning string, fn func(sqlstore.Row) error) error {
	query, args, err := insertRows(c.TenantID(), rows, conflict+" RETURNING "+returning)
	if err != nil {
		return err
	}
	return sqlstore.Each(ctx, c, fn, query, args...)
}

// lateral returns query joined laterally to rows, so it runs once for each,
// and the arguments: the row's values are r's columns. OFFSET 0 keeps the
// planner from making the two one join, which it would plan by what it
// thinks of the table's size.
func lateral(query string, rows sqlstore.RowSet, args []any) (string, []any, error) {
	set, arg, err := rowSet(rows, len(args)+1)
	values := make([]any, len(rows.Columns))
	for i, col := range rows.Columns {
		values[i] = "r." + col
	}
	return fmt.Sprintf("SELECT q.* FROM %s AS r CROSS JOIN LATERAL (SELECT * FROM (%s) AS found OFFSET 0) AS q", set, fmt.Sprintf(query, values...)),
		append(args[:len(args):len(args)], arg), err
}

// rowSet returns a table expression of rows read from parameter $n, and the
// argument to bind there: the rows as a JSON array of objects, read with
// jsonb_populate_recordset as rows of the table, so that each column has
// the table's type without the statement naming it. jsonb, not json: json
// parses a JSON value again for a jsonb column (an audit entry's changes),
// which made writing audit entries three times slower.
func rowSet(rows sqlstore.RowSet, n int) (string, any, error) {
	keys := make([][]byte, len(rows.Columns))
	for i, col := range rows.Columns {
		keys[i] = append(appendJSONString(nil, col), ':')
	}
	buf := []byte{'['}
	for i, row := range rows.Rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for j, v := range row {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, keys[j]...)
			var err error
			if buf, err = appendJSON(buf, v); err != nil {
				return "", nil, fmt.Errorf("rows of %s: %w", rows.Table, err)
			}
		}
		buf = append(buf, '}')
		if i == 0 {
			// The first row's size tells what the others take, near
			// enough: room for them now, not a copy each time it grows.
			buf = slices.Grow(buf, len(buf)*(len(rows.Rows)-1)*5/4)
		}
	}
	buf = append(buf, ']')
	return fmt.Sprintf("(SELECT %s FROM jsonb_populate_recordset(NULL::%s, $%d::jsonb))", strings.Join(rows.Columns, ", "), rows.Table, n),
		string(buf), nil
}

// appendJSON appends v, a value of a type stores bind, as JSON.
func appendJSON(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case string:
		return appendJSONString(buf, v), nil
	case sqlstore.JSON:
		return append(buf, v...), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case *int:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return strconv.AppendInt(buf, int64(*v), 10), nil
	case *int64:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return strconv.AppendInt(buf, *v, 10), nil
	case float64: // finite: stores check numbers before they bind them
		return strconv.AppendFloat(buf, v, 'g', -1, 64), nil
	case *float64:
		if v == nil {
			return append(buf, "null"...), nil
		}
		return strconv.AppendFloat(buf, *v, 'g', -1, 64), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case time.Time:
		return append(v.AppendFormat(append(buf, '"'), time.RFC3339Nano), '"'), nil
	}
	return buf, fmt.Errorf("cannot carry a %T in JSON", v)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it: PostgreSQL takes no invalid UTF-8
// in text.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			start = i + 1
		}
		i += size
	}
	return append(append(buf, s[start:]...), '"')
}
