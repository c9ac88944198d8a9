package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// brinLayout is the current columns as EnsureTable created them while Prune
// relied on a BRIN index on created_at, with a CHECK constraint on kind.
const brinLayout = `CREATE TABLE %[1]s.dureq_completions (
	run_id     text        NOT NULL,
	step       text        NOT NULL,
	job_id     text        NOT NULL DEFAULT '',
	kind       text        NOT NULL CHECK (kind IN ('completed', 'failed', 'checkpoint')),
	data       bytea,
	message    text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, step)
);
CREATE INDEX ON %[1]s.dureq_completions USING brin (created_at)`

// indexDefinitions returns the definitions of the indexes on the table
// dureq_completions in schema, ordered by index name.
func indexDefinitions(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.Query("SELECT indexdef FROM pg_indexes"+
		" WHERE schemaname = $1 AND tablename = 'dureq_completions' ORDER BY indexname", schema)
	require.NoError(t, err)
	defer rows.Close()
	var definitions []string
	for rows.Next() {
		var definition string
		require.NoError(t, rows.Scan(&definition))
		definitions = append(definitions, definition)
	}
	require.NoError(t, rows.Err())
	return definitions
}

// checkConstraints returns the definitions of the CHECK constraints on the
// table dureq_completions in schema.
func checkConstraints(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	rows, err := db.Query("SELECT pg_get_constraintdef(oid) FROM pg_constraint"+
		" WHERE conrelid = to_regclass(quote_ident($1) || '.dureq_completions') AND contype = 'c'", schema)
	require.NoError(t, err)
	defer rows.Close()
	var definitions []string
	for rows.Next() {
		var definition string
		require.NoError(t, rows.Scan(&definition))
		definitions = append(definitions, definition)
	}
	require.NoError(t, rows.Err())
	return definitions
}

// requireCurrentIndexes checks that the marker table in schema has the
// primary key, a B-tree index on created_at, no BRIN index and no CHECK
// constraint.
func requireCurrentIndexes(t *testing.T, db *sql.DB, schema string) {
	t.Helper()
	definitions := indexDefinitions(t, db, schema)
	joined := strings.Join(definitions, "\n")
	require.Contains(t, joined, "USING btree (created_at)", "index on created_at")
	require.NotContains(t, joined, "USING brin", "BRIN index left behind")
	require.Contains(t, joined, "USING btree (run_id, step)", "primary key")
	require.Len(t, definitions, 2, "indexes")
	require.Empty(t, checkConstraints(t, db, schema), "CHECK constraints")
}

func TestEnsureTableCreatesCreatedAtIndex(t *testing.T) {
	db, schema := defaultStoreDB(t, "pgx")
	requireCurrentIndexes(t, db, schema)
}

func TestEnsureTableUpgradesBRINLayout(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		admin := openWith(t, driver, nil)
		schema := newSchema(t, admin)
		_, err := admin.Exec(fmt.Sprintf(brinLayout, schema))
		require.NoError(t, err)
		_, err = admin.Exec(`INSERT INTO ` + schema + `.dureq_completions (run_id, step, job_id, kind, data, message, created_at) VALUES
			('done', '', 'j1', 'completed', NULL, NULL, '2026-01-01 00:00:00+00'),
			('done', 'charge', 'j1', 'checkpoint', '\x0001', NULL, '2026-01-01 00:00:01+00'),
			('failed', '', 'j2', 'failed', NULL, 'card declined', '2026-01-02 00:00:00+00')`)
		require.NoError(t, err)

		db := openWith(t, driver, map[string]string{"search_path": schema})
		ctx := context.Background()
		require.Len(t, checkConstraints(t, db, schema), 1, "the layout under test has a CHECK on kind")
		require.NoError(t, postgres.EnsureTable(ctx, db))
		requireCurrentIndexes(t, db, schema)
		require.NoError(t, postgres.EnsureTable(ctx, db), "a second call finds the current layout")
		requireCurrentIndexes(t, db, schema)

		var rows int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM dureq_completions").Scan(&rows))
		require.Equal(t, 3, rows, "no row is lost")
		o, err := postgres.Outcome(store.WithRun(ctx, "failed", ""), db)
		require.NoError(t, err)
		require.Equal(t, store.StatusFailed, o.Status)
		require.Equal(t, "card declined", o.Message)
		ok, data, err := postgres.IsCheckpointed(store.WithRun(ctx, "done", ""), db, "charge")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []byte{0, 1}, data)

		n, err := postgres.Prune(ctx, db, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "the markers of run done are older than the cutoff")
	})
}

func TestEnsureTableUpgradesBRINLayoutConcurrently(t *testing.T) {
	admin := openDB(t, "pgx")
	schema := newSchema(t, admin)
	_, err := admin.Exec(fmt.Sprintf(brinLayout, schema))
	require.NoError(t, err)
	db := openWith(t, "pgx", map[string]string{"search_path": schema})

	errs := make([]error, 16)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = postgres.EnsureTable(context.Background(), db) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "call %d", i)
	}
	requireCurrentIndexes(t, db, schema)
}

func TestEarlierLayoutUpgradeIndexesCreatedAt(t *testing.T) {
	admin := openDB(t, "pgx")
	schema := newSchema(t, admin)
	_, err := admin.Exec(fmt.Sprintf(earlierLayout, schema))
	require.NoError(t, err)
	db := openWith(t, "pgx", map[string]string{"search_path": schema})
	require.NoError(t, postgres.EnsureTable(context.Background(), db))
	requireCurrentIndexes(t, db, schema)
}
