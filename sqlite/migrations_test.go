package sqlite_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/migrationtest"
	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// schemaOf returns the type, name and normalized DDL of every object of the
// marker table, as sqlite_master stores them.
func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master
		WHERE tbl_name = 'dureq_completions' AND sql IS NOT NULL ORDER BY type, name`)
	require.NoError(t, err)
	defer rows.Close()
	var objects []string
	for rows.Next() {
		var kind, name, ddl string
		require.NoError(t, rows.Scan(&kind, &name, &ddl))
		objects = append(objects, kind+" "+name+": "+migrationtest.Normalize(ddl))
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, objects, "table dureq_completions not found")
	return objects
}

func TestMigrationsMatchEnsureTable(t *testing.T) {
	ensured := openDB(t)
	require.NoError(t, sqlite.EnsureTable(context.Background(), ensured))
	want := schemaOf(t, ensured)

	for _, format := range migrationtest.Formats {
		t.Run(format+" creates the same table", func(t *testing.T) {
			db := openDB(t)
			for _, stmt := range migrationtest.Statements(t, sqlite.Migrations, format, true) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			require.Equal(t, want, schemaOf(t, db))

			require.NoError(t, sqlite.EnsureTable(context.Background(), db), "EnsureTable finds the table current")
			require.Equal(t, want, schemaOf(t, db))
			ctx := store.WithRun(context.Background(), "run-1", "")
			require.NoError(t, sqlite.RunTx(ctx, db, nil, func(tx *sql.Tx) error { return sqlite.CompleteTx(ctx, tx) }))

			for _, stmt := range migrationtest.Statements(t, sqlite.Migrations, format, false) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			var tables int
			require.NoError(t, db.QueryRow("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'dureq_completions'").Scan(&tables))
			require.Zero(t, tables, "the down migration drops the table and its index")
		})
	}
}
