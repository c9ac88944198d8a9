package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dureqsql/completion/dialect"
)

// tableState is the shape of an existing table, or of none.
type tableState struct {
	columns     []string
	engine      string
	timeIndexed bool // an index starts with created_at
}

// markerColumns are the columns of the table.
var markerColumns = []string{"run_id", "step", "job_id", "kind", "data", "message", "created_at"}

func (s tableState) missing() bool { return len(s.columns) == 0 }

func (s tableState) hasMarkerColumns() bool {
	for _, c := range markerColumns {
		if !slices.Contains(s.columns, c) {
			return false
		}
	}
	return true
}

// check returns an error when the table exists but cannot keep markers.
func (s tableState) check(t dialect.Table) error {
	if !s.hasMarkerColumns() {
		slices.Sort(s.columns)
		return fmt.Errorf("table %s exists with columns %s instead of %s; drop it or choose another table name",
			qualifiedName(t), strings.Join(s.columns, ", "), strings.Join(markerColumns, ", "))
	}
	if !strings.EqualFold(s.engine, "InnoDB") {
		return fmt.Errorf("table %s uses the storage engine %s, which has no transactions; convert it with ALTER TABLE ... ENGINE=InnoDB",
			qualifiedName(t), s.engine)
	}
	return nil
}

// readTable reads the columns, engine and indexes of the table t from
// information_schema in one query. The equality tests on the names let the
// server open only that table; the binary ones make the match exact unless
// lower_case_table_names makes names case-insensitive.
func readTable(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, t dialect.Table) (tableState, error) {
	const query = `SELECT c.COLUMN_NAME, t.ENGINE,
	EXISTS (SELECT 1 FROM information_schema.STATISTICS s
		WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME
		AND BINARY s.TABLE_NAME = BINARY c.TABLE_NAME
		AND s.COLUMN_NAME = c.COLUMN_NAME AND s.SEQ_IN_INDEX = 1)
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
	AND BINARY t.TABLE_SCHEMA = BINARY c.TABLE_SCHEMA AND BINARY t.TABLE_NAME = BINARY c.TABLE_NAME
WHERE c.TABLE_SCHEMA = COALESCE(NULLIF(?, ''), DATABASE()) AND c.TABLE_NAME = ?
	AND (@@lower_case_table_names <> 0 OR
		(BINARY c.TABLE_SCHEMA = BINARY COALESCE(NULLIF(?, ''), DATABASE()) AND BINARY c.TABLE_NAME = BINARY ?))`
	rows, err := q.QueryContext(ctx, query, t.Schema, t.Name, t.Schema, t.Name)
	if err != nil {
		return tableState{}, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	var s tableState
	for rows.Next() {
		var column string
		var engine sql.NullString
		var leadsIndex bool
		if err := rows.Scan(&column, &engine, &leadsIndex); err != nil {
			return tableState{}, fmt.Errorf("read columns: %w", err)
		}
		s.columns = append(s.columns, strings.ToLower(column))
		s.engine = engine.String
		if strings.EqualFold(column, "created_at") {
			s.timeIndexed = leadsIndex
		}
	}
	if err := rows.Err(); err != nil {
		return tableState{}, fmt.Errorf("read columns: %w", err)
	}
	return s, nil
}

// EnsureTable creates the table t, or adds the index on created_at to a
// table without one. When the table exists with that index it sends one
// information_schema query and no DDL. Otherwise it works on a connection
// of its own, outside any transaction, because MySQL commits DDL
// implicitly. There it takes a named lock (GET_LOCK) keyed by the table's
// database and name, so that concurrent callers in any process run the DDL
// one at a time, and checks the table again under the lock.
func (Dialect) EnsureTable(ctx context.Context, db *sql.DB, t dialect.Table) error {
	s, err := readTable(ctx, db, t)
	if err != nil {
		return err
	}
	if !s.missing() {
		if err := s.check(t); err != nil {
			return err
		}
		if s.timeIndexed {
			return nil
		}
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open connection: %w", err)
	}
	defer conn.Close()
	unlock, err := lockTable(ctx, conn, t)
	if err != nil {
		return err
	}
	defer unlock()

	s, err = readTable(ctx, conn, t)
	if err != nil {
		return err
	}
	if s.missing() {
		return execDDL(ctx, conn, createTable(t))
	}
	if err := s.check(t); err != nil {
		return err
	}
	if !s.timeIndexed {
		return execDDL(ctx, conn, "ALTER TABLE "+qualifiedName(t)+" ADD INDEX created_at (created_at)")
	}
	return nil
}

// lockTable takes the named lock that serializes EnsureTable on t, waiting
// in one-second rounds so that a done ctx ends the wait, and returns the
// function that releases it. The name is a hash, because MySQL limits lock
// names to 64 characters.
func lockTable(ctx context.Context, conn *sql.Conn, t dialect.Table) (func(), error) {
	const key = "CONCAT('dureq:', LEFT(SHA2(CONCAT(COALESCE(NULLIF(?, ''), DATABASE(), ''), '.', ?), 256), 40))"
	for {
		var got sql.NullInt64
		err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+key+", 1)", t.Schema, t.Name).Scan(&got)
		if err != nil {
			return nil, fmt.Errorf("take named lock: %w", err)
		}
		if !got.Valid {
			return nil, errors.New("take named lock: GET_LOCK returned NULL")
		}
		if got.Int64 == 1 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("wait for named lock held by another EnsureTable: %w", err)
		}
	}
	return func() {
		// A canceled ctx must not keep the lock: closing the connection
		// releases it too, but the pool may keep the connection open.
		releaseCtx := context.WithoutCancel(ctx)
		_, _ = conn.ExecContext(releaseCtx, "DO RELEASE_LOCK("+key+")", t.Schema, t.Name)
	}, nil
}

// createTable returns the DDL of the table. IDs are VARBINARY and compared
// byte by byte, so case and trailing spaces count and no connection
// character set can change them. The index on created_at lets a Prune
// batch read the oldest markers in order and stop at the cutoff.
func createTable(t dialect.Table) string {
	return "CREATE TABLE IF NOT EXISTS " + qualifiedName(t) + ` (
	run_id     VARBINARY(255) NOT NULL,
	step       VARBINARY(255) NOT NULL,
	job_id     VARBINARY(255) NOT NULL DEFAULT '',
	kind       VARCHAR(10) CHARACTER SET ascii NOT NULL,
	data       LONGBLOB NULL,
	message    LONGTEXT CHARACTER SET utf8mb4 NULL,
	created_at DATETIME(6) NOT NULL,
	PRIMARY KEY (run_id, step),
	INDEX created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4`
}

func execDDL(ctx context.Context, conn *sql.Conn, ddl string) error {
	if _, err := conn.ExecContext(ctx, ddl); err != nil {
		first, _, _ := strings.Cut(ddl, "\n")
		return fmt.Errorf("run %q: %w", first, err)
	}
	return nil
}

// CreateNamespace creates the database name with the character set utf8mb4.
func (Dialect) CreateNamespace(ctx context.Context, db *sql.DB, name string) error {
	return execDatabaseDDL(ctx, db, "CREATE DATABASE %s CHARACTER SET utf8mb4", name)
}

// DropNamespace drops the database name and every table in it.
func (Dialect) DropNamespace(ctx context.Context, db *sql.DB, name string) error {
	return execDatabaseDDL(ctx, db, "DROP DATABASE IF EXISTS %s", name)
}

// execDatabaseDDL runs format with the quoted database name in place of %s,
// after checking the name.
func execDatabaseDDL(ctx context.Context, db *sql.DB, format, name string) error {
	if err := checkIdentifier("database name", name); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf(format, quoteIdentifier(name)))
	return err
}
