package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

	"github.com/dureqsql/completion/dialect"
)

// layout is the shape of an existing table.
type layout int

const (
	layoutMissing   layout = iota
	layoutCurrent          // every column and an index led by created_at
	layoutUnindexed        // every column, but no index led by created_at
	layoutUnknown          // a table or view with other columns
)

// columnNames are the columns of the current layout.
var columnNames = []string{"run_id", "step", "job_id", "kind", "data", "message", "created_at"}

// querier runs queries. *sql.DB and *sql.Conn implement it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readLayout returns the layout of the table called name and its columns
// in table order, in one query of SQLite's table-valued pragmas.
func readLayout(ctx context.Context, q querier, name string) (layout, []string, error) {
	// leads_index is 1 for a column that is the first key of an index
	// without a WHERE clause, which Prune can read in order.
	rows, err := q.QueryContext(ctx, `SELECT c.name, EXISTS (
	SELECT 1 FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i
	WHERE l.partial = 0 AND i.seqno = 0 AND i.name = c.name) AS leads_index
FROM pragma_table_info(?) AS c ORDER BY c.cid`, name, name)
	if err != nil {
		return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	var columns []string
	timeIndexed := false
	for rows.Next() {
		var column string
		var leadsIndex bool
		if err := rows.Scan(&column, &leadsIndex); err != nil {
			return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
		}
		columns = append(columns, column)
		if column == "created_at" {
			timeIndexed = leadsIndex
		}
	}
	if err := rows.Err(); err != nil {
		return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
	}
	if len(columns) == 0 {
		return layoutMissing, nil, nil
	}
	for _, want := range columnNames {
		if !slices.Contains(columns, want) {
			return layoutUnknown, columns, nil
		}
	}
	if !timeIndexed {
		return layoutUnindexed, columns, nil
	}
	return layoutCurrent, columns, nil
}

// EnsureTable creates the table t and its index on created_at. When both
// exist it sends one query and no DDL. Otherwise it takes SQLite's write
// lock with BEGIN IMMEDIATE on a connection of its own, whatever _txlock
// the DSN sets, and checks again under the lock, so concurrent callers in
// any number of processes create the table once. Waiting for the lock is
// bounded by the connection's busy_timeout.
func (Dialect) EnsureTable(ctx context.Context, db *sql.DB, t dialect.Table) error {
	l, columns, err := readLayout(ctx, db, t.Name)
	switch {
	case err != nil:
		return err
	case l == layoutCurrent:
		return nil
	case l == layoutUnknown:
		return unknownLayoutError(t, columns)
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer conn.Close()
	return writeTransaction(ctx, conn, func() error {
		l, columns, err := readLayout(ctx, conn, t.Name)
		if err != nil {
			return err
		}
		switch l {
		case layoutMissing:
			return execAll(ctx, conn, createTable(t), createIndex(t))
		case layoutUnindexed:
			return execAll(ctx, conn, createIndex(t))
		case layoutUnknown:
			return unknownLayoutError(t, columns)
		}
		return nil
	})
}

// writeTransaction runs fn between BEGIN IMMEDIATE and COMMIT on conn. A
// transaction that database/sql does not know of must end before conn goes
// back to the pool, so ROLLBACK runs even after ctx is done, and a
// connection whose ROLLBACK fails is discarded. That includes a connection
// whose failed COMMIT already ended the transaction, which costs only a
// new connection.
func writeTransaction(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("take the write lock: %w", err)
	}
	err := fn()
	if err == nil {
		if _, err = conn.ExecContext(ctx, "COMMIT"); err == nil {
			return nil
		}
		err = fmt.Errorf("commit: %w", err)
	}
	if _, rollbackErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rollbackErr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// createTable returns the DDL of the table. STRICT makes SQLite reject a
// value of the wrong type instead of storing it as given, so created_at is
// always the text that Prune compares. Checkpoint data can be large, so
// the rows live in a rowid table, not in the primary key's B-tree.
func createTable(t dialect.Table) string {
	return "CREATE TABLE " + quoteIdentifier(t.Name) + ` (
	run_id     TEXT NOT NULL,
	step       TEXT NOT NULL,
	job_id     TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL CHECK (kind IN ('completed', 'failed', 'checkpoint')),
	data       BLOB,
	message    TEXT,
	created_at TEXT NOT NULL DEFAULT (` + nowUTC + `),
	PRIMARY KEY (run_id, step)
) STRICT`
}

// createIndex returns the DDL of the index on created_at that Prune reads.
// SQLite needs a name for it, and the statement fails when a table or
// index of that name exists.
func createIndex(t dialect.Table) string {
	return "CREATE INDEX " + quoteIdentifier(t.Name+"_created_at") + " ON " + quoteIdentifier(t.Name) + " (created_at)"
}

func execAll(ctx context.Context, conn *sql.Conn, stmts ...string) error {
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("run %s: %w", strings.SplitN(stmt, " (", 2)[0], err)
		}
	}
	return nil
}

func unknownLayoutError(t dialect.Table, columns []string) error {
	return fmt.Errorf("table %s exists with columns %s, which is not the layout of this package; drop it or choose another table name",
		quoteIdentifier(t.Name), strings.Join(columns, ", "))
}
