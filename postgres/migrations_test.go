package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/migrationtest"
	"github.com/dureqsql/completion/postgres"
)

// tableShape is what a table looks like in the catalog, with the schema
// name taken out, so that tables in two schemas can be compared.
type tableShape struct {
	Columns     []string
	Constraints []string
	Indexes     []string
}

func describeTable(t *testing.T, db *sql.DB, schema string) tableShape {
	t.Helper()
	table := schema + ".dureq_completions"
	var shape tableShape
	for _, q := range []struct {
		into  *[]string
		query string
	}{
		{&shape.Columns, `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
			|| coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
			FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`},
		{&shape.Constraints, `SELECT contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass ORDER BY 1`},
		{&shape.Indexes, `SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`},
	} {
		rows, err := db.Query(q.query, table)
		require.NoError(t, err)
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			*q.into = append(*q.into, strings.ReplaceAll(line, schema+".", "SCHEMA."))
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	require.NotEmpty(t, shape.Columns, "table %s not found", table)
	return shape
}

func TestMigrationsMatchEnsureTable(t *testing.T) {
	admin := openDB(t, "pgx")
	ensured := newSchema(t, admin)
	ensuredDB := openWith(t, "pgx", map[string]string{"search_path": ensured})
	require.NoError(t, postgres.EnsureTable(context.Background(), ensuredDB))
	want := describeTable(t, admin, ensured)

	for _, format := range migrationtest.Formats {
		t.Run(format+" creates the same table", func(t *testing.T) {
			migrated := newSchema(t, admin)
			db := openWith(t, "pgx", map[string]string{"search_path": migrated})
			for _, stmt := range migrationtest.Statements(t, postgres.Migrations, format, true) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			require.Equal(t, want, describeTable(t, admin, migrated))

			// A role that may not create anything finds the table current.
			role := newRole(t, admin)
			_, err := admin.Exec(`GRANT USAGE ON SCHEMA ` + migrated + ` TO ` + role + `;
				GRANT SELECT, INSERT ON ` + migrated + `.dureq_completions TO ` + role)
			require.NoError(t, err)
			reader := openAs(t, "pgx", role, map[string]string{"search_path": migrated})
			require.NoError(t, postgres.EnsureTable(context.Background(), reader))
			require.Equal(t, want, describeTable(t, admin, migrated))

			for _, stmt := range migrationtest.Statements(t, postgres.Migrations, format, false) {
				_, err := db.Exec(stmt)
				require.NoError(t, err)
			}
			var tables int
			require.NoError(t, admin.QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = $1", migrated).Scan(&tables))
			require.Zero(t, tables, "the down migration drops the table")
		})
	}
}
