package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/dureqsql/completion/dialect"
)

// advisoryLockClass is the first key of the transaction-level advisory lock
// that serializes EnsureTable; the second is a hash of the table's
// schema-qualified name. The value spells "dure" in ASCII.
const advisoryLockClass = 0x64757265

// layout is the shape of an existing table.
type layout int

const (
	layoutMissing layout = iota
	layoutCurrent
	layoutBRIN    // the current columns, with a BRIN index on created_at and a CHECK on kind
	layoutEarlier // run_id, job_id, step, data JSONB, completed_at
	layoutUnkeyed // the current columns without a unique key on (run_id, step)
	layoutUnknown
)

// currentColumns are the columns of the current layout.
var currentColumns = []string{"run_id", "step", "job_id", "kind", "data", "message", "created_at"}

// earlierColumns are the columns of the layout before kinds and failure
// messages existed, when data was JSONB and outcomes sat under the empty step.
var earlierColumns = []string{"run_id", "job_id", "step", "data", "completed_at"}

// readLayout returns the layout of the table t and the columns it has, in
// one catalog query.
func readLayout(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, t dialect.Table) (layout, map[string]string, error) {
	// leads_btree is true for a column that is the first key of a valid
	// B-tree index without a predicate, which Prune can scan in order.
	// keyed is true when a unique index on exactly run_id and step exists,
	// which InsertMarker's ON CONFLICT needs.
	rows, err := q.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
	EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am m ON m.oid = c.relam
		WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum AND i.indisvalid AND i.indpred IS NULL
		AND m.amname = 'btree') AS leads_btree,
	EXISTS (SELECT FROM pg_index i
		WHERE i.indrelid = a.attrelid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indnkeyatts = 2
		AND (SELECT array_agg(k.attname::text ORDER BY k.attname) FROM pg_attribute k
			WHERE k.attrelid = i.indrelid AND k.attnum = ANY (i.indkey)) = ARRAY['run_id', 'step']) AS keyed
FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
		qualifiedName(t))
	if err != nil {
		return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	columns := map[string]string{}
	timeIndexed, keyed := false, false
	for rows.Next() {
		var name, typ string
		var leadsBtree bool
		if err := rows.Scan(&name, &typ, &leadsBtree, &keyed); err != nil {
			return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
		}
		columns[name] = typ
		if name == "created_at" {
			timeIndexed = leadsBtree
		}
	}
	if err := rows.Err(); err != nil {
		return layoutMissing, nil, fmt.Errorf("read columns: %w", err)
	}
	switch {
	case len(columns) == 0:
		return layoutMissing, columns, nil
	case hasColumns(columns, currentColumns) && !keyed:
		return layoutUnkeyed, columns, nil
	case hasColumns(columns, currentColumns) && timeIndexed:
		return layoutCurrent, columns, nil
	case hasColumns(columns, currentColumns):
		return layoutBRIN, columns, nil
	case hasColumns(columns, earlierColumns) && columns["data"] == "jsonb":
		return layoutEarlier, columns, nil
	}
	return layoutUnknown, columns, nil
}

func hasColumns(columns map[string]string, names []string) bool {
	for _, n := range names {
		if _, ok := columns[n]; !ok {
			return false
		}
	}
	return true
}

// EnsureTable creates the table t, or upgrades the earlier layout in place.
// When the table exists in the current layout it sends one catalog query and
// no DDL. Otherwise it takes a transaction-level advisory lock keyed by the
// schema-qualified name, so that concurrent callers never race in CREATE
// TABLE (which can fail on a unique violation in pg_type), and checks again
// under the lock.
func (Dialect) EnsureTable(ctx context.Context, db *sql.DB, t dialect.Table) error {
	l, columns, err := readLayout(ctx, db, t)
	if err != nil {
		return err
	}
	if l == layoutCurrent {
		return nil
	}
	if l == layoutUnknown {
		return unknownLayoutError(t, columns)
	}

	// At READ COMMITTED each statement reads what the previous lock holder
	// committed, whatever default_transaction_isolation is set to.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	_, err = tx.ExecContext(ctx,
		"SELECT pg_advisory_xact_lock($1, hashtext(coalesce(nullif($2::text, ''), current_schema(), '') || '.' || $3::text))",
		advisoryLockClass, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("take advisory lock: %w", err)
	}
	l, columns, err = readLayout(ctx, tx, t)
	if err != nil {
		return err
	}
	if l == layoutUnkeyed {
		// A table made by hand or by a migration without the key: add it,
		// which fails, naming the duplicates, if rows already collide.
		// Then the rest of the layout may still need an upgrade.
		if err := ensureKey(ctx, tx, t); err != nil {
			return err
		}
		if l, columns, err = readLayout(ctx, tx, t); err != nil {
			return err
		}
	}
	switch l {
	case layoutMissing:
		err = execAll(ctx, tx, createStatements(t))
	case layoutBRIN:
		err = upgradeBRINLayout(ctx, tx, t)
	case layoutEarlier:
		err = upgrade(ctx, tx, t, columns)
	case layoutUnknown:
		err = unknownLayoutError(t, columns)
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func unknownLayoutError(t dialect.Table, columns map[string]string) error {
	names := make([]string, 0, len(columns))
	for n := range columns {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Errorf("table %s exists with columns %s, which match no known layout; drop it or choose another table name",
		qualifiedName(t), strings.Join(names, ", "))
}

// createStatements returns the DDL of the current layout. The B-tree index
// on created_at lets a Prune batch read the oldest markers in order and
// stop at the cutoff, so a batch takes about as long on a table of any
// size. With a BRIN index instead, the planner scans the table from its
// start, and the last batch of each Prune reads every newer marker.
//
// kind has no CHECK constraint, because the store writes only the three
// kinds and PostgreSQL 15 prepares a CHECK expression anew for every
// INSERT statement. CHECK (kind IN (...)) raised the server time of a
// marker insert from 11 to 16 µs (EXPLAIN ANALYZE, median of 600).
func createStatements(t dialect.Table) []string {
	name := qualifiedName(t)
	return []string{
		"CREATE TABLE " + name + ` (
	run_id     text        NOT NULL,
	step       text        NOT NULL,
	job_id     text        NOT NULL DEFAULT '',
	kind       text        NOT NULL,
	data       bytea,
	message    text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, step)
)`,
		createdAtIndex(t),
	}
}

func createdAtIndex(t dialect.Table) string {
	return "CREATE INDEX ON " + qualifiedName(t) + " (created_at)"
}

// kindCheck is the CHECK constraint on kind of the earlier layouts, as
// pg_get_constraintdef prints it.
const kindCheck = "CHECK ((kind = ANY (ARRAY['completed'::text, 'failed'::text, 'checkpoint'::text])))"

// upgradeBRINLayout upgrades a table of the current columns as EnsureTable
// created it with a BRIN index on created_at and a CHECK constraint on
// kind. It builds the B-tree index on created_at, which blocks writes to
// the table while it runs, and drops the BRIN index and the CHECK.
func upgradeBRINLayout(ctx context.Context, tx *sql.Tx, t dialect.Table) error {
	name := qualifiedName(t)
	// regclass output is quoted and, outside the search_path,
	// schema-qualified.
	brinIndexes, err := queryStrings(ctx, tx, `SELECT i.indexrelid::regclass::text
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am m ON m.oid = c.relam
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = to_regclass($1) AND m.amname = 'brin' AND i.indnatts = 1 AND a.attname = 'created_at'`, name)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	checks, err := queryStrings(ctx, tx, `SELECT quote_ident(conname) FROM pg_constraint
WHERE conrelid = to_regclass($1) AND contype = 'c' AND pg_get_constraintdef(oid) = $2`, name, kindCheck)
	if err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	stmts := []string{createdAtIndex(t)}
	for _, index := range brinIndexes {
		stmts = append(stmts, "DROP INDEX "+index)
	}
	for _, check := range checks {
		stmts = append(stmts, "ALTER TABLE "+name+" DROP CONSTRAINT "+check)
	}
	return execAll(ctx, tx, stmts)
}

// queryStrings runs a query that returns one text column and returns its
// values.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
}

// upgrade converts a table of the earlier layout in place, keeping every
// row. The row under the empty step becomes the completed outcome. For a run
// without one, the earliest row whose step starts with "failed:" becomes the
// failed outcome, with the rest of the step as its message. Every other row
// becomes a checkpoint. JSONB data becomes its text as bytes, so it reads
// back as PostgreSQL's normalized JSON text.
func upgrade(ctx context.Context, tx *sql.Tx, t dialect.Table, columns map[string]string) error {
	name := qualifiedName(t)
	stmts := []string{
		"ALTER TABLE " + name + " ADD COLUMN kind text, ADD COLUMN message text," +
			" ALTER COLUMN data TYPE bytea USING convert_to(data::text, 'UTF8')",
		"ALTER TABLE " + name + " RENAME COLUMN completed_at TO created_at",
	}
	if columns["completed_at"] != "timestamp with time zone" {
		stmts = append(stmts, "ALTER TABLE "+name+" ALTER COLUMN created_at TYPE timestamptz USING created_at::timestamptz")
	}
	stmts = append(stmts,
		"UPDATE "+name+" SET created_at = now() WHERE created_at IS NULL",
		"UPDATE "+name+" SET job_id = '' WHERE job_id IS NULL",
		"UPDATE "+name+" SET kind = 'completed' WHERE step = ''",
		"UPDATE "+name+" AS f SET step = '', kind = 'failed', message = substr(f.step, 8)"+
			" FROM (SELECT DISTINCT ON (run_id) run_id, step FROM "+name+" AS r"+
			" WHERE step LIKE 'failed:%' AND NOT EXISTS (SELECT 1 FROM "+name+" AS o WHERE o.run_id = r.run_id AND o.step = '')"+
			" ORDER BY run_id, created_at, step) AS pick"+
			" WHERE f.run_id = pick.run_id AND f.step = pick.step",
		"UPDATE "+name+" SET kind = 'checkpoint' WHERE kind IS NULL",
		"ALTER TABLE "+name+
			" ALTER COLUMN run_id SET NOT NULL, ALTER COLUMN step SET NOT NULL,"+
			" ALTER COLUMN job_id SET DEFAULT '', ALTER COLUMN job_id SET NOT NULL,"+
			" ALTER COLUMN kind SET NOT NULL,"+
			" ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN created_at SET NOT NULL",
	)
	if err := execAll(ctx, tx, stmts); err != nil {
		return err
	}
	if err := ensureKey(ctx, tx, t); err != nil {
		return err
	}
	return execAll(ctx, tx, []string{createdAtIndex(t)})
}

// ensureKey adds a primary key on (run_id, step) when no unique index on
// exactly those columns exists, because InsertMarker's ON CONFLICT needs one.
func ensureKey(ctx context.Context, tx *sql.Tx, t dialect.Table) error {
	var hasKey, hasPrimary bool
	err := tx.QueryRowContext(ctx, `SELECT
	coalesce(bool_or(i.indisunique AND i.indnkeyatts = 2 AND
		(SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
		 WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['run_id', 'step']), false),
	coalesce(bool_or(i.indisprimary), false)
FROM pg_index i WHERE i.indrelid = to_regclass($1)`, qualifiedName(t)).Scan(&hasKey, &hasPrimary)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	switch {
	case hasKey:
		return nil
	case hasPrimary:
		return execAll(ctx, tx, []string{"ALTER TABLE " + qualifiedName(t) + " ADD UNIQUE (run_id, step)"})
	default:
		return execAll(ctx, tx, []string{"ALTER TABLE " + qualifiedName(t) + " ADD PRIMARY KEY (run_id, step)"})
	}
}

func execAll(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("run %q: %w", firstLine(s), err)
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
