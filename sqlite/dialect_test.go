package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	moderncsqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/internal/sqlitetarget"
	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

func TestCapabilitiesDeclareOneWriter(t *testing.T) {
	caps := sqlite.Dialect{}.Capabilities()
	require.Equal(t, []sql.IsolationLevel{sql.LevelSerializable}, caps.IsolationLevels)
	require.False(t, caps.ConcurrentWriters)
	require.False(t, caps.Schemas)
	require.Equal(t, 1_000_000_000-1024, caps.MaxDataSize)
}

// TestBeginTxIgnoresIsolationLevel shows what the capabilities rest on:
// modernc.org/sqlite accepts every isolation level and runs each
// transaction as SQLite does, serializable. A driver version that starts
// to reject levels fails here.
func TestBeginTxIgnoresIsolationLevel(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for level := sql.LevelDefault; level <= sql.LevelLinearizable; level++ {
		tx, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: level})
		require.NoError(t, err, "level %v", level)
		require.NoError(t, tx.Rollback())
	}
}

func TestQuotedTableNamesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	for _, name := range []string{
		`Completion "Markers"; DROP TABLE x`,
		"with space",
		`it's`,
		"Ünïcödé 標記",
		`"`,
	} {
		s, err := sqlite.New(store.WithTable(name))
		require.NoError(t, err, "table %q", name)
		require.NoError(t, s.EnsureTable(ctx, db), "table %q", name)
		require.NoError(t, s.EnsureTable(ctx, db), "table %q, second call", name)

		runCtx := store.WithRun(ctx, "run-1", "job-1")
		require.NoError(t, s.Checkpoint(runCtx, db, "step", []byte("x")), "table %q", name)
		require.NoError(t, s.Complete(runCtx, db), "table %q", name)
		require.ErrorIs(t, s.Complete(runCtx, db), sqlite.ErrAlreadyCompleted, "table %q", name)

		var found string
		require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&found))
		require.Equal(t, name, found)

		n, err := s.Prune(ctx, db, time.Now().Add(time.Hour))
		require.NoError(t, err, "table %q", name)
		require.Equal(t, int64(2), n, "table %q", name)
	}
}

// TestTableNamesIgnoreCase pins down a difference from PostgreSQL: SQLite
// compares identifiers without regard to ASCII case, quoted or not.
func TestTableNamesIgnoreCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	upper, err := sqlite.New(store.WithTable("Markers"))
	require.NoError(t, err)
	lower, err := sqlite.New(store.WithTable("markers"))
	require.NoError(t, err)
	require.NoError(t, upper.EnsureTable(ctx, db))
	require.NoError(t, lower.EnsureTable(ctx, db))

	runCtx := store.WithRun(ctx, "run-1", "job-1")
	require.NoError(t, upper.Complete(runCtx, db))
	require.ErrorIs(t, lower.Complete(runCtx, db), sqlite.ErrAlreadyCompleted)
}

func TestCheckTableRejectsNames(t *testing.T) {
	for _, tc := range []struct {
		table  dialect.Table
		reason string
	}{
		{dialect.Table{Name: ""}, "empty"},
		{dialect.Table{Name: "a\x00b"}, "NUL"},
		{dialect.Table{Name: "bad\xff"}, "UTF-8"},
		{dialect.Table{Name: "sqlite_markers"}, "reserves"},
		{dialect.Table{Name: "SQLite_Markers"}, "reserves"},
		{dialect.Table{Schema: "main", Name: "markers"}, "no schemas"},
	} {
		err := sqlite.Dialect{}.CheckTable(tc.table)
		require.ErrorContains(t, err, tc.reason, "table %+v", tc.table)
	}
	require.NoError(t, sqlite.Dialect{}.CheckTable(dialect.Table{Name: "sqlite"}))

	_, err := sqlite.New(store.WithSchema("main"))
	require.ErrorIs(t, err, sqlite.ErrInvalid)
}

func TestEnsureTableSendsNoWritesWhenTableExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlitetarget.Open(sqlitetarget.DSN(path))
	require.NoError(t, err)
	defer db.Close()

	// A connection with query_only set fails every write, as a role
	// without DDL rights does.
	readOnly, err := sqlitetarget.Open(sqlitetarget.DSN(path) + "&_query_only=1")
	require.NoError(t, err)
	defer readOnly.Close()
	require.Error(t, sqlite.EnsureTable(ctx, readOnly), "a missing table needs DDL")

	require.NoError(t, sqlite.EnsureTable(ctx, db))
	require.NoError(t, sqlite.EnsureTable(ctx, readOnly))
}

func TestEnsureTableCreatesMissingIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	runCtx := store.WithRun(ctx, "run-1", "job-1")
	require.NoError(t, sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error { return sqlite.CompleteTx(runCtx, tx) }))
	_, err := db.ExecContext(ctx, `DROP INDEX "dureq_completions_created_at"`)
	require.NoError(t, err)

	require.NoError(t, sqlite.EnsureTable(ctx, db))
	var indexes int
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'dureq_completions_created_at'").Scan(&indexes))
	require.Equal(t, 1, indexes)
	done, err := sqlite.IsCompleted(runCtx, db)
	require.NoError(t, err)
	require.True(t, done, "the marker survives")
}

func TestEnsureTableRejectsOtherLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	_, err := db.ExecContext(ctx, "CREATE TABLE dureq_completions (run_id TEXT, done INTEGER)")
	require.NoError(t, err)

	err = sqlite.EnsureTable(ctx, db)
	require.ErrorContains(t, err, "exists with columns run_id, done")
	require.True(t, strings.HasPrefix(err.Error(), "dureq: ensure table "), "error %q", err)
}

func TestEnsureTableReportsTakenIndexName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	_, err := db.ExecContext(ctx, "CREATE TABLE dureq_completions_created_at (x TEXT)")
	require.NoError(t, err)

	err = sqlite.EnsureTable(ctx, db)
	require.ErrorContains(t, err, "dureq_completions_created_at")
	var tables int
	require.NoError(t, db.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE name = 'dureq_completions'").Scan(&tables))
	require.Zero(t, tables, "the failed EnsureTable rolled back the table it created")
}

// codedError is an error with a SQLite result code, as modernc.org/sqlite
// returns them.
type codedError int

func (e codedError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codedError) Code() int     { return int(e) }

func TestClassifyResultCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want dialect.Class
	}{
		{codedError(sqlite3.SQLITE_BUSY), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_BUSY_SNAPSHOT), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_BUSY_RECOVERY), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_BUSY_TIMEOUT), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_LOCKED), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_LOCKED_SHAREDCACHE), dialect.ClassLockTimeout},
		{codedError(sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY), dialect.ClassUniqueViolation},
		{codedError(sqlite3.SQLITE_CONSTRAINT_UNIQUE), dialect.ClassUniqueViolation},
		{codedError(sqlite3.SQLITE_CONSTRAINT_CHECK), dialect.ClassOther},
		{codedError(sqlite3.SQLITE_CONSTRAINT), dialect.ClassOther},
		{codedError(sqlite3.SQLITE_INTERRUPT), dialect.ClassCanceled},
		{codedError(sqlite3.SQLITE_ERROR), dialect.ClassOther},
		{fmt.Errorf("insert: %w", codedError(sqlite3.SQLITE_BUSY)), dialect.ClassLockTimeout},
		{driver.ErrBadConn, dialect.ClassConnection},
		{errors.New("database is locked"), dialect.ClassOther},
	} {
		require.Equal(t, tc.want, sqlite.Dialect{}.Classify(tc.err), "error %v", tc.err)
	}
}

func TestClassifyDriverErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openWithParams(t, "_pragma=journal_mode(WAL)")
	_, err := db.ExecContext(ctx, "CREATE TABLE keys (k TEXT PRIMARY KEY, u TEXT UNIQUE)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO keys VALUES ('a', 'b')")
	require.NoError(t, err)

	_, err = db.ExecContext(ctx, "INSERT INTO keys VALUES ('a', 'c')")
	require.Equal(t, dialect.ClassUniqueViolation, sqlite.Dialect{}.Classify(err), "error %v", err)
	_, err = db.ExecContext(ctx, "INSERT INTO keys VALUES ('c', 'b')")
	require.Equal(t, dialect.ClassUniqueViolation, sqlite.Dialect{}.Classify(err), "error %v", err)

	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer holder.Rollback()
	_, err = holder.ExecContext(ctx, "INSERT INTO keys VALUES ('d', 'd')")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO keys VALUES ('e', 'e')")
	require.ErrorContains(t, err, "database is locked")
	require.Equal(t, dialect.ClassLockTimeout, sqlite.Dialect{}.Classify(err), "error %v", err)
	require.True(t, store.IsRetryable(err))
}

func TestMaxDataSizeLeavesRoomForRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()

	// The room MaxDataSize leaves below SQLite's maximum row size must
	// hold the rest of the largest checkpoint row, at any maximum: here
	// one lowered to 1 MiB on this connection.
	const limit = 1 << 20
	const room = 1_000_000_000 - sqlite.MaxDataSize
	_, err = moderncsqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, limit)
	require.NoError(t, err)
	s, err := sqlite.New(store.WithMaxDataSize(limit - room))
	require.NoError(t, err)
	longID := strings.Repeat("i", store.MaxIDSize)
	runCtx := store.WithRun(ctx, longID, longID)
	data := make([]byte, limit-room)
	data[len(data)-1] = 1
	require.NoError(t, s.Checkpoint(runCtx, conn, longID, data))
	_, got, err := s.IsCheckpointed(runCtx, conn, longID)
	require.NoError(t, err)
	require.Equal(t, data, got)

	// Without the room a row of the same IDs is too big.
	unlimited, err := sqlite.New(store.WithMaxDataSize(limit))
	require.NoError(t, err)
	err = unlimited.Checkpoint(runCtx, conn, "other"+longID[len("other"):], make([]byte, limit-room/4))
	require.ErrorContains(t, err, "too big")
}

// TestMaxDataSizeRoundTrip stores and reads a checkpoint of MaxDataSize
// bytes. It needs about 3 GB of memory and 2 GB of disk, so it runs only
// with DUREQ_TEST_MAX_DATA=1.
func TestMaxDataSizeRoundTrip(t *testing.T) {
	if os.Getenv("DUREQ_TEST_MAX_DATA") != "1" {
		t.Skip("set DUREQ_TEST_MAX_DATA=1 to store a checkpoint of MaxDataSize bytes; it needs about 3 GB of memory")
	}
	ctx := context.Background()
	db := openDB(t)
	s, err := sqlite.New(store.WithMaxDataSize(sqlite.MaxDataSize))
	require.NoError(t, err)
	require.NoError(t, s.EnsureTable(ctx, db))
	longID := strings.Repeat("i", store.MaxIDSize)
	runCtx := store.WithRun(ctx, longID, longID)
	data := make([]byte, sqlite.MaxDataSize)
	data[len(data)-1] = 1

	start := time.Now()
	require.NoError(t, s.Checkpoint(runCtx, db, longID, data))
	t.Logf("wrote %d bytes in %v", len(data), time.Since(start))
	start = time.Now()
	ok, got, err := s.IsCheckpointed(runCtx, db, longID)
	require.NoError(t, err)
	require.True(t, ok)
	t.Logf("read %d bytes in %v", len(got), time.Since(start))
	require.True(t, bytes.Equal(data, got), "the data read back differs")
}
