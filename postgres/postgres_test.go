package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// forEachDriver runs f as a subtest once per driver.
func forEachDriver(t *testing.T, f func(t *testing.T, driver string)) {
	for _, d := range driverNames {
		t.Run(d.short, func(t *testing.T) { f(t, d.sql) })
	}
}

// openWith opens the test database with driver and the run-time
// parameters params, such as search_path, which both drivers pass to the
// server from the URL's query.
func openWith(t *testing.T, driver string, params map[string]string) *sql.DB {
	t.Helper()
	u, err := url.Parse(pgtarget.DSN())
	require.NoError(t, err, "the tests need a postgres:// URL")
	return openURL(t, driver, u, params)
}

// openURLString opens dsn, a postgres:// URL, with driver and the run-time
// parameters params.
func openURLString(t *testing.T, driver, dsn string, params map[string]string) *sql.DB {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err, "the tests need a postgres:// URL")
	return openURL(t, driver, u, params)
}

func openURL(t *testing.T, driver string, u *url.URL, params map[string]string) *sql.DB {
	t.Helper()
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	db, err := sql.Open(driver, u.String())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// newSchema creates a schema with a random name and drops it when the test
// ends.
func newSchema(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "dureq_test_" + hex.EncodeToString(b[:])
	require.NoError(t, postgres.Dialect{}.CreateNamespace(context.Background(), db, name))
	t.Cleanup(func() {
		require.NoError(t, postgres.Dialect{}.DropNamespace(context.Background(), db, name))
	})
	return name
}

// defaultStoreDB opens a database whose search_path is a new schema, so
// that the package-level functions work on a table of the test's own.
func defaultStoreDB(t *testing.T, driver string) (*sql.DB, string) {
	t.Helper()
	schema := newSchema(t, openWith(t, driver, nil))
	db := openWith(t, driver, map[string]string{"search_path": schema})
	require.NoError(t, postgres.EnsureTable(context.Background(), db))
	return db, schema
}

func TestPackageFunctions(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db, schema := defaultStoreDB(t, driver)
		ctx := store.WithRun(context.Background(), "run-1", "job-1")

		var tables int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'dureq_completions'", schema).Scan(&tables))
		require.Equal(t, 1, tables, "EnsureTable creates the table in the first schema of search_path")

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, postgres.CheckpointTx(ctx, tx, "charge", []byte("ch_1")))
		require.NoError(t, postgres.CompleteTx(ctx, tx))
		require.NoError(t, tx.Commit())

		done, err := postgres.IsCompleted(ctx, db)
		require.NoError(t, err)
		require.True(t, done)
		ok, data, err := postgres.IsCheckpointed(ctx, db, "charge")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []byte("ch_1"), data)

		tx, err = db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, postgres.ErrAlreadyCompleted, postgres.CompleteTx(ctx, tx))
		require.Equal(t, postgres.ErrAlreadyCompleted, postgres.FailTx(ctx, tx, errors.New("late")))
		require.Equal(t, postgres.ErrAlreadyCheckpointed, postgres.CheckpointTx(ctx, tx, "charge", nil))
		require.NoError(t, tx.Commit())

		failed := store.WithRun(context.Background(), "run-2", "job-2")
		tx, err = db.BeginTx(failed, nil)
		require.NoError(t, err)
		require.NoError(t, postgres.FailTx(failed, tx, errors.New("card declined")))
		require.NoError(t, tx.Commit())
		o, err := postgres.Outcome(failed, db)
		require.NoError(t, err)
		require.Equal(t, store.StatusFailed, o.Status)
		require.Equal(t, "card declined", o.Message)
		require.Equal(t, "job-2", o.JobID)

		n, err := postgres.Prune(context.Background(), db, time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, int64(3), n)
	})
}

func TestSentinelsAreStoreValues(t *testing.T) {
	for _, tc := range []struct {
		name        string
		local, core error
	}{
		{"already completed matches store", postgres.ErrAlreadyCompleted, store.ErrAlreadyCompleted},
		{"already failed matches store", postgres.ErrAlreadyFailed, store.ErrAlreadyFailed},
		{"already checkpointed matches store", postgres.ErrAlreadyCheckpointed, store.ErrAlreadyCheckpointed},
		{"no run matches store", postgres.ErrNoRun, store.ErrNoRun},
		{"invalid matches store", postgres.ErrInvalid, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.local, tc.core)
			require.ErrorIs(t, tc.core, tc.local)
		})
	}
}

func TestNilHandlesRejected(t *testing.T) {
	ctx := store.WithRun(context.Background(), "run-1", "")
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"complete with nil tx", func() error { return postgres.CompleteTx(ctx, nil) }},
		{"fail with nil tx", func() error { return postgres.FailTx(ctx, nil, nil) }},
		{"checkpoint with nil tx", func() error { return postgres.CheckpointTx(ctx, nil, "s", nil) }},
		{"is completed with nil db", func() error { _, err := postgres.IsCompleted(ctx, nil); return err }},
		{"is checkpointed with nil db", func() error { _, _, err := postgres.IsCheckpointed(ctx, nil, "s"); return err }},
		{"outcome with nil db", func() error { _, err := postgres.Outcome(ctx, nil); return err }},
		{"prune with nil db", func() error { _, err := postgres.Prune(ctx, nil, time.Now()); return err }},
		{"ensure table with nil db", func() error { return postgres.EnsureTable(ctx, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), postgres.ErrInvalid)
		})
	}
}

func TestEnsureTableNeedsNoDDLRights(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		admin, schema := defaultStoreDB(t, driver)
		role := newRole(t, admin)
		_, err := admin.Exec(`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role + `;
			GRANT SELECT, INSERT ON ` + schema + `.dureq_completions TO ` + role)
		require.NoError(t, err)

		reader := openAs(t, driver, role, map[string]string{"search_path": schema})
		require.NoError(t, postgres.EnsureTable(context.Background(), reader))
		ctx := store.WithRun(context.Background(), "run-1", "")
		tx, err := reader.Begin()
		require.NoError(t, err)
		require.NoError(t, postgres.CompleteTx(ctx, tx))
		require.NoError(t, tx.Commit())

		// The same role fails where DDL is needed, so the call above
		// really sent none.
		s, err := postgres.New(store.WithSchema(schema), store.WithTable("missing"))
		require.NoError(t, err)
		err = s.EnsureTable(context.Background(), reader)
		require.ErrorContains(t, err, "permission denied for schema "+schema)
		requirePrefix(t, err)
	})
}

// newRole creates a login role without privileges and drops it when the
// test ends.
func newRole(t *testing.T, admin *sql.DB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role := "dureq_role_" + hex.EncodeToString(b[:])
	_, err := admin.Exec("CREATE ROLE " + role + " LOGIN")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec("DROP OWNED BY " + role + "; DROP ROLE " + role)
		require.NoError(t, err)
	})
	return role
}

// openAs opens the test database as role, which the test server's trust
// authentication lets in without a password.
func openAs(t *testing.T, driver, role string, params map[string]string) *sql.DB {
	t.Helper()
	u, err := url.Parse(pgtarget.DSN())
	require.NoError(t, err, "the tests need a postgres:// URL")
	u.User = url.User(role)
	return openURL(t, driver, u, params)
}

func TestEnsureTableRejectsUnknownLayout(t *testing.T) {
	db := openDB(t, "pgx")
	schema := newSchema(t, db)
	_, err := db.Exec(`CREATE TABLE ` + schema + `.other (id int, name text)`)
	require.NoError(t, err)
	s, err := postgres.New(store.WithSchema(schema), store.WithTable("other"))
	require.NoError(t, err)
	err = s.EnsureTable(context.Background(), db)
	require.EqualError(t, err, `dureq: ensure table "`+schema+`"."other": table "`+schema+`"."other" exists with columns id, name, which match no known layout; drop it or choose another table name`)
}

func TestTableNameLimits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []store.Option
		message string
	}{
		{"63-byte table name accepted", []store.Option{store.WithTable(strings.Repeat("t", 63))}, ""},
		{"64-byte table name rejected", []store.Option{store.WithTable(strings.Repeat("t", 64))},
			`dureq: invalid table "` + strings.Repeat("t", 64) + `": table name is 64 bytes long, over PostgreSQL's maximum of 63`},
		{"empty schema name means default", []store.Option{store.WithSchema("")}, ""},
		{"64-byte schema name rejected", []store.Option{store.WithSchema(strings.Repeat("s", 64))},
			`dureq: invalid table "` + strings.Repeat("s", 64) + `"."dureq_completions": schema name is 64 bytes long, over PostgreSQL's maximum of 63`},
		{"NUL in schema rejected", []store.Option{store.WithSchema("a\x00")},
			`dureq: invalid table "a\x00"."dureq_completions": schema name contains a NUL byte`},
		{"data limit above dialect rejected", []store.Option{store.WithMaxDataSize(postgres.MaxDataSize + 1)},
			`dureq: invalid maximum data size 268435457: is out of range; use 0 to 268435456 bytes, the maximum of the postgres dialect`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.New(tc.opts...)
			if tc.message == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, postgres.ErrInvalid)
			require.EqualError(t, err, tc.message)
		})
	}
}

func TestTimesAreUTCInAnyTimeZone(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		_, schema := defaultStoreDB(t, driver)
		db := openWith(t, driver, map[string]string{"search_path": schema, "TimeZone": "Asia/Tokyo"})
		ctx := store.WithRun(context.Background(), "run-1", "")
		tx, err := db.Begin()
		require.NoError(t, err)
		require.NoError(t, postgres.FailTx(ctx, tx, nil))
		require.NoError(t, tx.Commit())

		var now time.Time
		require.NoError(t, db.QueryRow("SELECT now()").Scan(&now))
		o, err := postgres.Outcome(ctx, db)
		require.NoError(t, err)
		require.Equal(t, time.UTC, o.At.Location())
		require.WithinDuration(t, now, o.At, time.Minute)
	})
}

func requirePrefix(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "dureq: "), "error %q must start with \"dureq: \"", err)
}

// sqlStateError is an error with a SQLSTATE, as both drivers report them.
type sqlStateError string

func (e sqlStateError) Error() string    { return "server error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestClassifyBySQLState(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		class     dialect.Class
		retryable bool
	}{
		{"serialization failure is retryable", sqlStateError("40001"), dialect.ClassSerialization, true},
		{"deadlock is retryable", sqlStateError("40P01"), dialect.ClassDeadlock, true},
		{"idle session timeout is retryable", sqlStateError("25P03"), dialect.ClassConnection, true},
		{"admin shutdown is retryable", sqlStateError("57P01"), dialect.ClassConnection, true},
		{"connection failure is retryable", sqlStateError("08006"), dialect.ClassConnection, true},
		{"ambiguous completion is retryable", sqlStateError("40003"), dialect.ClassConnection, true},
		{"protocol violation is not", sqlStateError("08P01"), dialect.ClassOther, false},
		{"wrapped deadlock is retryable", errors.Join(errors.New("x"), sqlStateError("40P01")), dialect.ClassDeadlock, true},
		{"unique violation is not", sqlStateError("23505"), dialect.ClassUniqueViolation, false},
		{"lock timeout is retryable", sqlStateError("55P03"), dialect.ClassLockTimeout, true},
		{"query canceled is not", sqlStateError("57014"), dialect.ClassCanceled, false},
		{"syntax error is not", sqlStateError("42601"), dialect.ClassOther, false},
		{"bad connection is retryable", driverBadConn(), dialect.ClassConnection, true},
		{"plain error is not", errors.New("boom"), dialect.ClassOther, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.class, postgres.Dialect{}.Classify(tc.err))
			require.Equal(t, tc.retryable, store.IsRetryable(tc.err))
		})
	}
}

func TestStoreRejectsTypedNilHandles(t *testing.T) {
	s, err := postgres.New()
	require.NoError(t, err)
	ctx := store.WithRun(context.Background(), "run-1", "")
	var tx *sql.Tx
	var db *sql.DB
	var conn *sql.Conn
	require.ErrorIs(t, s.Complete(ctx, tx), postgres.ErrInvalid)
	require.ErrorIs(t, s.Complete(ctx, db), postgres.ErrInvalid)
	require.ErrorIs(t, s.Complete(ctx, conn), postgres.ErrInvalid)
	_, err = s.Prune(ctx, db, time.Now())
	require.ErrorIs(t, err, postgres.ErrInvalid)
}

func TestEnsureTableAddsMissingKey(t *testing.T) {
	db := openDB(t, "pgx")
	schema := newSchema(t, db)
	_, err := db.Exec(`CREATE TABLE ` + schema + `.dureq_completions (
		run_id text NOT NULL, step text NOT NULL, job_id text NOT NULL DEFAULT '', kind text NOT NULL,
		data bytea, message text, created_at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	s, err := postgres.New(store.WithSchema(schema))
	require.NoError(t, err)
	require.NoError(t, s.EnsureTable(context.Background(), db))

	var indexes int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM pg_indexes WHERE schemaname = $1
		AND indexdef LIKE '%(created_at)%'`, schema).Scan(&indexes))
	require.Equal(t, 1, indexes, "one call also adds the index on created_at")
	ctx := store.WithRun(context.Background(), "run-1", "")
	require.NoError(t, s.Complete(ctx, db))
	require.Equal(t, postgres.ErrAlreadyCompleted, s.Complete(ctx, db))
}
