package mysql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// ddlCount returns how many CREATE TABLE, ALTER TABLE and CREATE INDEX
// statements the session of db has run. db must have one connection.
func ddlCount(t *testing.T, db *sql.DB) int {
	t.Helper()
	rows, err := db.Query("SHOW SESSION STATUS WHERE Variable_name IN ('Com_create_table', 'Com_alter_table', 'Com_create_index')")
	require.NoError(t, err)
	defer rows.Close()
	total := 0
	for rows.Next() {
		var name string
		var n int
		require.NoError(t, rows.Scan(&name, &n))
		total += n
	}
	require.NoError(t, rows.Err())
	return total
}

func TestEnsureTableSendsNoDDLWhenTableExists(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	db := openDB(t, nil)
	db.SetMaxOpenConns(1)
	before := ddlCount(t, db)
	require.NoError(t, s.EnsureTable(context.Background(), db))
	require.NoError(t, s.EnsureTable(context.Background(), db))
	require.Equal(t, before, ddlCount(t, db), "EnsureTable on an existing table sent DDL")
}

func TestEnsureTableLeavesCallerTransactionOpen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	_, err := f.db.Exec("CREATE TABLE `" + f.database + "`.business (id INT NOT NULL) ENGINE=InnoDB")
	require.NoError(t, err)
	tx, err := f.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.Exec("INSERT INTO `" + f.database + "`.business (id) VALUES (1)")
	require.NoError(t, err)

	f.newStore(t, "markers")
	require.NoError(t, tx.Rollback())
	var n int
	require.NoError(t, f.db.QueryRow("SELECT COUNT(*) FROM `"+f.database+"`.business").Scan(&n))
	require.Zero(t, n, "the DDL of EnsureTable committed the caller's transaction")
}

func TestEnsureTableAddsMissingIndex(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "")
	require.NoError(t, s.Complete(ctx, f.db))
	_, err := f.db.Exec("ALTER TABLE `" + f.database + "`.markers DROP INDEX created_at")
	require.NoError(t, err)

	require.NoError(t, s.EnsureTable(context.Background(), f.db))
	var indexes int
	require.NoError(t, f.db.QueryRow(`SELECT COUNT(*) FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'markers' AND COLUMN_NAME = 'created_at' AND SEQ_IN_INDEX = 1`, f.database).Scan(&indexes))
	require.Equal(t, 1, indexes)
	require.Equal(t, store.ErrAlreadyCompleted, s.Complete(ctx, f.db), "the marker was kept")
}

func TestEnsureTableRejectsOtherTables(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, tc := range []struct {
		name, ddl, message string
	}{
		{
			"other columns",
			"CREATE TABLE `%s`.other (id INT PRIMARY KEY)",
			"exists with columns id instead of run_id, step, job_id, kind, data, message, created_at",
		},
		{
			"MyISAM",
			"CREATE TABLE `%s`.myisam (run_id VARBINARY(255), step VARBINARY(255), job_id VARBINARY(255), kind VARCHAR(10)," +
				" data LONGBLOB, message LONGTEXT, created_at DATETIME(6), PRIMARY KEY (run_id, step), INDEX (created_at)) ENGINE=MyISAM",
			"uses the storage engine MyISAM, which has no transactions",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ddl := strings.Replace(tc.ddl, "%s", f.database, 1)
			_, err := f.db.Exec(ddl)
			require.NoError(t, err)
			table := strings.Fields(ddl)[2]
			table = table[strings.LastIndexByte(table, '.')+1:]
			s, err := store.New(mysql.Dialect{}, store.WithSchema(f.database), store.WithTable(table))
			require.NoError(t, err)
			err = s.EnsureTable(context.Background(), f.db)
			require.ErrorContains(t, err, tc.message)
		})
	}
}

// TestTableNamesAreCaseSensitive shows that EnsureTable matches the table
// name exactly on a server whose lower_case_table_names is 0, the Linux
// default, where "Markers" and "markers" are two tables.
func TestTableNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var lower int
	require.NoError(t, f.db.QueryRow("SELECT @@lower_case_table_names").Scan(&lower))
	if lower != 0 {
		t.Skipf("lower_case_table_names is %d, so table names are not case-sensitive on this server", lower)
	}
	_, err := f.db.Exec("CREATE TABLE `" + f.database + "`.Markers (id INT PRIMARY KEY)")
	require.NoError(t, err)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "")
	require.NoError(t, s.Complete(ctx, f.db))
	require.NoError(t, s.EnsureTable(context.Background(), f.db))
}

func TestQuotedNamesRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, name := range []string{"back`tick", "`", "two words", `quote " and '`, "é ü 漢字", strings.Repeat("x", 64)} {
		s := f.newStore(t, name)
		ctx := store.WithRun(context.Background(), "run-1", "")
		require.NoError(t, s.Complete(ctx, f.db), "table %q", name)
		require.Equal(t, store.ErrAlreadyCompleted, s.Complete(ctx, f.db), "table %q", name)
	}
}

func TestCheckTable(t *testing.T) {
	d := mysql.Dialect{}
	for _, tc := range []struct {
		schema, name, message string
	}{
		{"", "", "table name is empty"},
		{"", strings.Repeat("x", 65), "table name is 65 characters long, over the MySQL maximum of 64"},
		{"", strings.Repeat("é", 65), "table name is 65 characters long, over the MySQL maximum of 64"},
		{"", "trailing ", "table name ends with a space, which MySQL does not allow"},
		{"", "a\x00b", "table name contains a NUL byte"},
		{"", "a\xffb", "table name is not valid UTF-8"},
		{"", "a😀", `table name contains '😀', outside the Basic Multilingual Plane, which MySQL names cannot contain`},
		{"db ", "markers", "database name ends with a space, which MySQL does not allow"},
	} {
		err := d.CheckTable(dialectTable(tc.schema, tc.name))
		require.EqualError(t, err, tc.message, "schema %q, table %q", tc.schema, tc.name)
	}
	require.NoError(t, d.CheckTable(dialectTable("", strings.Repeat("é", 64))))
	require.NoError(t, d.CheckTable(dialectTable("Mixed Case db", "back`tick")))
}

func TestQuoteIdentifier(t *testing.T) {
	d := mysql.Dialect{}
	require.Equal(t, "`markers`", d.QuoteIdentifier("markers"))
	require.Equal(t, "`a``b`", d.QuoteIdentifier("a`b"))
	require.Equal(t, "````", d.QuoteIdentifier("`"))
}

func dialectTable(schema, name string) dialect.Table {
	return dialect.Table{Schema: schema, Name: name}
}
