package mysql_test

import (
	"context"
	"database/sql"
	"testing"

	driver "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/migrationtest"
	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// showCreate returns the server's own DDL of the marker table in db's
// default database, which names no database, so two databases compare.
func showCreate(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name, ddl string
	require.NoError(t, db.QueryRow("SHOW CREATE TABLE dureq_completions").Scan(&name, &ddl))
	return ddl
}

// openIn opens the test server with database as the default database.
func openIn(t *testing.T, database string) *sql.DB {
	t.Helper()
	return openDB(t, func(cfg *driver.Config) { cfg.DBName = database })
}

func TestMigrationsMatchEnsureTable(t *testing.T) {
	ensured := openIn(t, setup(t).database)
	require.NoError(t, mysql.EnsureTable(context.Background(), ensured))
	want := showCreate(t, ensured)

	for _, format := range migrationtest.Formats {
		t.Run(format+" creates the same table", func(t *testing.T) {
			db := openIn(t, setup(t).database)
			for _, stmt := range migrationtest.Statements(t, mysql.Migrations, format, true) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			require.Equal(t, want, showCreate(t, db))

			require.NoError(t, mysql.EnsureTable(context.Background(), db), "EnsureTable finds the table current")
			require.Equal(t, want, showCreate(t, db))
			ctx := store.WithRun(context.Background(), "run-1", "")
			require.NoError(t, mysql.RunTx(ctx, db, nil, func(tx *sql.Tx) error { return mysql.CompleteTx(ctx, tx) }))

			for _, stmt := range migrationtest.Statements(t, mysql.Migrations, format, false) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			var tables int
			require.NoError(t, db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&tables))
			require.Zero(t, tables, "the down migration drops the table")
		})
	}
}
