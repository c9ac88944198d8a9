package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// The fuzz targets below check every input through both drivers. Each
// target opens one handle per driver and a schema of its own once, so that
// an input costs a few statements and fuzz workers, which are separate
// processes, never share a table. The seed corpus is in
// testdata/fuzz/<target>. Run a target with, for example:
//
//	go test -run '^$' -fuzz '^FuzzComplete$' -fuzztime 30s ./postgres/
//
// An input takes milliseconds, so minimizing a new input can take most of
// a run, and the exec count leaves those runs out. Adding
// -fuzzminimizetime 100x leaves more of the time for new inputs.

// fuzzMaxDataSize is the maximum checkpoint size of the fuzz stores, small
// enough that the fuzzer reaches it.
const fuzzMaxDataSize = 512

// fuzzJobID is the job ID of the targets that do not fuzz it.
const fuzzJobID = "job-fuzz"

// countingQuerier counts the statements sent through it, to show that
// rejected input sends none.
type countingQuerier struct {
	q     store.Querier
	calls int
}

func (c *countingQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.calls++
	return c.q.ExecContext(ctx, query, args...)
}

func (c *countingQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.calls++
	return c.q.QueryRowContext(ctx, query, args...)
}

// fuzzDB is an open handle of one driver.
type fuzzDB struct {
	driver string // the short name, as in driverNames
	db     *sql.DB
}

// fuzzEnv is what a database fuzz target shares between its inputs: one
// handle per driver, a schema, and for the marker targets a marker store
// and a business table in place of the handler's own rows.
type fuzzEnv struct {
	dbs      []fuzzDB
	schema   string
	store    *postgres.Store
	markers  string // the schema-qualified name of the marker table
	business string // the schema-qualified name of the business table
	nextID   atomic.Int64
}

// fuzzLockClass is the first key of the session-level advisory lock that a
// fuzz process holds on its schema while it lives. The second key is a hash
// of the schema name. The value spells "fuzz" in ASCII.
const fuzzLockClass = 0x66757a7a

// newFuzzSchema opens both drivers and creates an empty schema with a
// random name, which it drops when the target ends.
//
// When fuzzing ends, the engine kills a worker process that does not stop
// in time, such as one busy minimizing an input, and the killed worker
// leaves its schema behind. So each process holds an advisory lock on its
// schema for as long as it lives, and every target, also in a plain go test
// run, first drops each fuzz schema whose lock is free.
func newFuzzSchema(f *testing.F) *fuzzEnv {
	f.Helper()
	ctx := context.Background()
	env := &fuzzEnv{}
	for _, d := range driverNames {
		db, err := sql.Open(d.sql, pgtarget.DSN())
		require.NoError(f, err)
		f.Cleanup(func() { db.Close() })
		require.NoError(f, db.PingContext(ctx))
		env.dbs = append(env.dbs, fuzzDB{driver: d.short, db: db})
	}
	admin := env.dbs[0].db
	lock, err := admin.Conn(ctx)
	require.NoError(f, err)
	f.Cleanup(func() { lock.Close() })
	dropAbandonedFuzzSchemas(f, admin, lock)

	for locked := false; !locked; {
		var b [6]byte
		_, _ = rand.Read(b[:])
		env.schema = "dureq_fuzz_" + hex.EncodeToString(b[:])
		require.NoError(f, lock.QueryRowContext(ctx,
			"SELECT pg_try_advisory_lock($1, hashtext($2))", fuzzLockClass, env.schema).Scan(&locked))
	}
	require.NoError(f, postgres.Dialect{}.CreateNamespace(ctx, admin, env.schema))
	f.Cleanup(func() {
		require.NoError(f, postgres.Dialect{}.DropNamespace(context.Background(), admin, env.schema))
	})
	return env
}

// dropAbandonedFuzzSchemas drops the fuzz schemas whose advisory lock no
// session holds, which means that the process that created them has ended.
func dropAbandonedFuzzSchemas(f *testing.F, admin *sql.DB, lock *sql.Conn) {
	f.Helper()
	ctx := context.Background()
	rows, err := admin.QueryContext(ctx, `SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'dureq\_fuzz\_%'`)
	require.NoError(f, err)
	var schemas []string
	for rows.Next() {
		var name string
		require.NoError(f, rows.Scan(&name))
		schemas = append(schemas, name)
	}
	require.NoError(f, rows.Err())
	rows.Close()

	for _, name := range schemas {
		var free bool
		require.NoError(f, lock.QueryRowContext(ctx,
			"SELECT pg_try_advisory_lock($1, hashtext($2))", fuzzLockClass, name).Scan(&free))
		if !free {
			continue
		}
		require.NoError(f, postgres.Dialect{}.DropNamespace(ctx, admin, name))
		_, err := lock.ExecContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", fuzzLockClass, name)
		require.NoError(f, err)
	}
}

// newFuzzEnv returns a schema from newFuzzSchema with an empty marker table
// and a business table in it.
func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	ctx := context.Background()
	env := newFuzzSchema(f)
	admin := env.dbs[0].db
	var err error
	env.store, err = postgres.New(
		store.WithSchema(env.schema),
		store.WithTable("markers"),
		store.WithMaxDataSize(fuzzMaxDataSize),
	)
	require.NoError(f, err)
	require.NoError(f, env.store.EnsureTable(ctx, admin))
	env.markers = env.schema + ".markers"
	env.business = env.schema + ".business"
	_, err = admin.ExecContext(ctx, "CREATE TABLE "+env.business+" (id bigint PRIMARY KEY)")
	require.NoError(f, err)
	return env
}

// forEachDB runs check as a subtest once per driver, on an empty marker
// table.
func (env *fuzzEnv) forEachDB(t *testing.T, check func(t *testing.T, db *sql.DB)) {
	for _, d := range env.dbs {
		t.Run(d.driver, func(t *testing.T) {
			_, err := d.db.ExecContext(t.Context(), "DELETE FROM "+env.markers)
			require.NoError(t, err)
			check(t, d.db)
		})
	}
}

// writeBusinessRow inserts a business row in tx and returns its ID. It
// fails the test when tx was aborted.
func (env *fuzzEnv) writeBusinessRow(t *testing.T, tx *sql.Tx) int64 {
	t.Helper()
	id := env.nextID.Add(1)
	_, err := tx.ExecContext(t.Context(), "INSERT INTO "+env.business+" (id) VALUES ($1)", id)
	require.NoError(t, err, "the transaction must stay usable")
	return id
}

// commitWithBusinessRow writes a business row in tx, commits it and checks
// that the row is visible afterwards.
func (env *fuzzEnv) commitWithBusinessRow(t *testing.T, db *sql.DB, tx *sql.Tx) {
	t.Helper()
	id := env.writeBusinessRow(t, tx)
	require.NoError(t, tx.Commit())
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+env.business+" WHERE id = $1", id).Scan(&n))
	require.Equal(t, 1, n, "the business row must commit")
}

// storedMarker is a row of the marker table as SQL returns it, read without
// the store.
type storedMarker struct {
	runID, step, jobID, kind string
	dataIsNull               bool
	data                     []byte
	message                  sql.NullString
}

// readMarkers returns every row of the marker table, ordered by step.
func (env *fuzzEnv) readMarkers(t *testing.T, db *sql.DB) []storedMarker {
	t.Helper()
	rows, err := db.QueryContext(t.Context(),
		"SELECT run_id, step, job_id, kind, data IS NULL, data, message FROM "+env.markers+" ORDER BY step")
	require.NoError(t, err)
	defer rows.Close()
	var markers []storedMarker
	for rows.Next() {
		var m storedMarker
		require.NoError(t, rows.Scan(&m.runID, &m.step, &m.jobID, &m.kind, &m.dataIsNull, &m.data, &m.message))
		markers = append(markers, m)
	}
	require.NoError(t, rows.Err())
	return markers
}

// isValidID reports whether s is a valid run ID, job ID or step name by the
// contract: valid UTF-8, no NUL byte, at most 255 bytes. It restates the
// rule instead of calling store.ValidateID, so that a bug there shows.
func isValidID(s string) bool {
	return len(s) <= 255 && strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// runError returns the error that a store must return for a run identity
// before it sends any SQL, or nil when the identity is valid.
func runError(runID, jobID string) error {
	switch {
	case runID == "":
		return store.ErrNoRun
	case !isValidID(runID), !isValidID(jobID):
		return store.ErrInvalid
	}
	return nil
}

// requireReadsRejected checks that the read methods reject the run of ctx
// with want and send no SQL.
func requireReadsRejected(t *testing.T, s *postgres.Store, ctx context.Context, db *sql.DB, want error) {
	t.Helper()
	q := &countingQuerier{q: db}
	_, err := s.Outcome(ctx, q)
	require.ErrorIs(t, err, want)
	_, err = s.IsCompleted(ctx, q)
	require.ErrorIs(t, err, want)
	require.Zero(t, q.calls, "rejected reads must send no SQL")
	requireCheckpointReadRejected(t, s, ctx, db, "step", want)
}

// requireCheckpointReadRejected checks that IsCheckpointed rejects the run
// of ctx or step with want and sends no SQL.
func requireCheckpointReadRejected(t *testing.T, s *postgres.Store, ctx context.Context, db *sql.DB, step string, want error) {
	t.Helper()
	q := &countingQuerier{q: db}
	ok, data, err := s.IsCheckpointed(ctx, q, step)
	require.ErrorIs(t, err, want)
	require.False(t, ok)
	require.Nil(t, data)
	require.Zero(t, q.calls, "rejected reads must send no SQL")
}

// FuzzComplete checks that any run ID and job ID is either stored and read
// back exactly by Complete and Outcome, or rejected before any SQL, and
// that the caller's transaction commits either way.
func FuzzComplete(f *testing.F) {
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, runID, jobID string) {
		want := runError(runID, jobID)
		env.forEachDB(t, func(t *testing.T, db *sql.DB) {
			ctx := store.WithRun(t.Context(), runID, jobID)
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			q := &countingQuerier{q: tx}
			err = env.store.Complete(ctx, q)
			if want != nil {
				require.ErrorIs(t, err, want)
				require.Zero(t, q.calls, "rejected input must send no SQL")
				env.commitWithBusinessRow(t, db, tx)
				require.Empty(t, env.readMarkers(t, db))
				requireReadsRejected(t, env.store, ctx, db, want)
				return
			}
			require.NoError(t, err)
			require.NotZero(t, q.calls)
			env.commitWithBusinessRow(t, db, tx)

			require.Equal(t, []storedMarker{{runID: runID, jobID: jobID, kind: "completed", dataIsNull: true}},
				env.readMarkers(t, db))
			o, err := env.store.Outcome(ctx, db)
			require.NoError(t, err)
			require.Equal(t, store.StatusCompleted, o.Status)
			require.Equal(t, jobID, o.JobID)
			require.Empty(t, o.Message)
			done, err := env.store.IsCompleted(ctx, db)
			require.NoError(t, err)
			require.True(t, done)

			tx, err = db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			require.Equal(t, store.ErrAlreadyCompleted, env.store.Complete(ctx, tx))
			env.commitWithBusinessRow(t, db, tx)
		})
	})
}

// stepError returns the error that Checkpoint must return for step and
// data of a valid run before it sends any SQL, or nil when both are valid.
func stepError(step string, data []byte) error {
	if step == "" || !isValidID(step) || len(data) > fuzzMaxDataSize {
		return store.ErrInvalid
	}
	return nil
}

// requireCheckpoint checks that IsCheckpointed returns exactly data for
// step, keeping nil apart from empty.
func requireCheckpoint(t *testing.T, s *postgres.Store, ctx context.Context, q store.Querier, step string, data []byte) {
	t.Helper()
	ok, got, err := s.IsCheckpointed(ctx, q, step)
	require.NoError(t, err)
	require.True(t, ok)
	if data == nil {
		require.Nil(t, got)
		return
	}
	require.NotNil(t, got, "empty data must read back non-nil")
	require.Equal(t, data, got)
}

// FuzzCheckpoint checks that any run ID, step and data is either stored
// and read back exactly, with nil kept apart from empty, or rejected before
// any SQL, and that the caller's transaction commits either way.
func FuzzCheckpoint(f *testing.F) {
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, runID, step string, data []byte, nilData bool) {
		// The corpus cannot tell nil from empty, so nilData does.
		if nilData {
			data = nil
		} else if data == nil {
			data = []byte{}
		}
		badRun := runError(runID, fuzzJobID)
		badStep := stepError(step, nil)
		want := badRun
		if want == nil {
			want = stepError(step, data)
		}
		env.forEachDB(t, func(t *testing.T, db *sql.DB) {
			ctx := store.WithRun(t.Context(), runID, fuzzJobID)
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			q := &countingQuerier{q: tx}
			err = env.store.Checkpoint(ctx, q, step, data)
			if want != nil {
				require.ErrorIs(t, err, want)
				require.Zero(t, q.calls, "rejected input must send no SQL")
				env.commitWithBusinessRow(t, db, tx)
				require.Empty(t, env.readMarkers(t, db))
				if badRun != nil {
					requireReadsRejected(t, env.store, ctx, db, badRun)
				} else if badStep != nil {
					requireCheckpointReadRejected(t, env.store, ctx, db, step, badStep)
				}
				return
			}
			require.NoError(t, err)
			require.NotZero(t, q.calls)
			requireCheckpoint(t, env.store, ctx, tx, step, data)
			env.commitWithBusinessRow(t, db, tx)

			markers := env.readMarkers(t, db)
			require.Len(t, markers, 1)
			require.Equal(t, runID, markers[0].runID)
			require.Equal(t, step, markers[0].step)
			require.Equal(t, fuzzJobID, markers[0].jobID)
			require.Equal(t, "checkpoint", markers[0].kind)
			require.Equal(t, data == nil, markers[0].dataIsNull)
			require.Equal(t, string(data), string(markers[0].data))
			requireCheckpoint(t, env.store, ctx, db, step, data)

			// A second checkpoint of the step keeps the first data.
			tx, err = db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			require.Equal(t, store.ErrAlreadyCheckpointed, env.store.Checkpoint(ctx, tx, step, []byte("second")))
			env.commitWithBusinessRow(t, db, tx)
			requireCheckpoint(t, env.store, ctx, db, step, data)
		})
	})
}

// FuzzFail checks that any failure message is stored as
// store.SanitizeMessage returns it for the store's limit, that the limit
// itself is checked, and that an invalid run is rejected before any SQL.
func FuzzFail(f *testing.F) {
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, runID, message string, limit uint16, nilCause bool) {
		s, err := postgres.New(
			store.WithSchema(env.schema),
			store.WithTable("markers"),
			store.WithMaxMessageSize(int(limit)),
		)
		if limit == 0 {
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Nil(t, s)
			return
		}
		require.NoError(t, err)
		var cause error
		wantMessage := ""
		if !nilCause {
			cause = errors.New(message)
			wantMessage = store.SanitizeMessage(message, int(limit))
		}
		want := runError(runID, fuzzJobID)
		env.forEachDB(t, func(t *testing.T, db *sql.DB) {
			ctx := store.WithRun(t.Context(), runID, fuzzJobID)
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			q := &countingQuerier{q: tx}
			err = s.Fail(ctx, q, cause)
			if want != nil {
				require.ErrorIs(t, err, want)
				require.Zero(t, q.calls, "rejected input must send no SQL")
				env.commitWithBusinessRow(t, db, tx)
				require.Empty(t, env.readMarkers(t, db))
				return
			}
			require.NoError(t, err)
			require.NotZero(t, q.calls)
			env.commitWithBusinessRow(t, db, tx)

			require.Equal(t, []storedMarker{{
				runID: runID, jobID: fuzzJobID, kind: "failed", dataIsNull: true,
				message: sql.NullString{String: wantMessage, Valid: true},
			}}, env.readMarkers(t, db))
			o, err := s.Outcome(ctx, db)
			require.NoError(t, err)
			require.Equal(t, store.StatusFailed, o.Status)
			require.Equal(t, wantMessage, o.Message)
			require.LessOrEqual(t, len(o.Message), int(limit))
			require.True(t, utf8.ValidString(o.Message))
			require.NotContains(t, o.Message, "\x00")

			// Later outcomes return the stored message and leave the
			// transaction usable.
			tx, err = db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			err = s.Complete(ctx, tx)
			require.ErrorIs(t, err, store.ErrAlreadyFailed)
			var failed *store.FailedError
			require.ErrorAs(t, err, &failed)
			require.Equal(t, wantMessage, failed.Message)
			require.ErrorIs(t, s.Fail(ctx, tx, errors.New("second")), store.ErrAlreadyFailed)
			env.commitWithBusinessRow(t, db, tx)
		})
	})
}

// relation is a row of pg_class in the fuzz schema.
type relation struct {
	oid     uint32
	name    string
	kind    string
	indexOf uint32 // the oid of the indexed table for an index, else 0
}

// readRelations returns the relations of schema by name.
func readRelations(t testing.TB, db *sql.DB, schema string) map[string]relation {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT c.oid::bigint, c.relname::text, c.relkind::text, coalesce(i.indrelid, 0)::bigint
FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)`, schema)
	require.NoError(t, err)
	defer rows.Close()
	relations := map[string]relation{}
	for rows.Next() {
		var r relation
		var oid, indexOf int64
		require.NoError(t, rows.Scan(&oid, &r.name, &r.kind, &indexOf))
		r.oid, r.indexOf = uint32(oid), uint32(indexOf)
		relations[r.name] = r
	}
	require.NoError(t, rows.Err())
	return relations
}

// readSentinel returns a fingerprint of the sentinel table: its columns,
// and each row with the transaction that wrote it, so that any change to it
// shows.
func readSentinel(t testing.TB, db *sql.DB, schema string) string {
	t.Helper()
	var fingerprint string
	err := db.QueryRowContext(context.Background(), `SELECT
	(SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
	 FROM pg_attribute WHERE attrelid = format('%I.sentinel', $1::text)::regclass AND attnum > 0 AND NOT attisdropped)
	|| ' | ' ||
	(SELECT coalesce(string_agg(format('%s %s %s', id, note, xmin), ', ' ORDER BY id), '')
	 FROM `+schema+`.sentinel)`, schema).Scan(&fingerprint)
	require.NoError(t, err)
	return fingerprint
}

// isValidTableName reports whether PostgreSQL can take name literally when
// quoted: not empty, valid UTF-8, no NUL byte and at most 63 bytes, because
// PostgreSQL truncates longer names.
func isValidTableName(name string) bool {
	return name != "" && len(name) <= 63 && strings.IndexByte(name, 0) < 0 && utf8.ValidString(name)
}

// FuzzTableName checks that a table name can never inject SQL: New rejects
// it, or EnsureTable creates exactly one table of that name, byte for byte,
// the markers work in it, and the sentinel table beside it stays as it was.
func FuzzTableName(f *testing.F) {
	env := newFuzzSchema(f)
	admin := env.dbs[0].db
	_, err := admin.ExecContext(context.Background(),
		"CREATE TABLE "+env.schema+".sentinel (id int PRIMARY KEY, note text NOT NULL);"+
			" INSERT INTO "+env.schema+".sentinel VALUES (1, 'untouched')")
	require.NoError(f, err)
	sentinel := readSentinel(f, admin, env.schema)

	f.Fuzz(func(t *testing.T, name string) {
		s, err := postgres.New(store.WithSchema(env.schema), store.WithTable(name))
		if !isValidTableName(name) {
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Nil(t, s)
			return
		}
		require.NoError(t, err)
		for _, d := range env.dbs {
			t.Run(d.driver, func(t *testing.T) {
				before := readRelations(t, d.db, env.schema)
				_, exists := before[name]
				err := s.EnsureTable(t.Context(), d.db)
				if exists {
					// The name is taken by a relation of another layout,
					// which EnsureTable must reject and leave alone.
					require.Error(t, err)
					require.Equal(t, before, readRelations(t, d.db, env.schema))
					require.Equal(t, sentinel, readSentinel(t, d.db, env.schema))
					return
				}
				require.NoError(t, err)
				after := readRelations(t, d.db, env.schema)
				created := requireOneTableCreated(t, before, after, name)
				require.NoError(t, s.EnsureTable(t.Context(), d.db), "EnsureTable must be idempotent")
				requireMarkersWork(t, s, d.db)

				// Drop the table by its oid, with SQL built by the server,
				// so the test does not rely on the dialect's quoting.
				var drop string
				require.NoError(t, d.db.QueryRowContext(t.Context(),
					"SELECT format('DROP TABLE %s', $1::bigint::oid::regclass)", created).Scan(&drop))
				_, err = d.db.ExecContext(t.Context(), drop)
				require.NoError(t, err)
				require.Equal(t, before, readRelations(t, d.db, env.schema))
				require.Equal(t, sentinel, readSentinel(t, d.db, env.schema))
			})
		}
	})
}

// requireOneTableCreated checks that after holds the relations of before
// unchanged, one new table called name, and only indexes of it besides, and
// returns the new table's oid.
func requireOneTableCreated(t *testing.T, before, after map[string]relation, name string) int64 {
	t.Helper()
	table, ok := after[name]
	require.True(t, ok, "no relation named %q was created; relations: %v", name, after)
	require.Equal(t, "r", table.kind)
	for relName, r := range after {
		if old, ok := before[relName]; ok {
			require.Equal(t, old, r, "relation %q changed", relName)
			continue
		}
		if relName == name {
			continue
		}
		require.Equal(t, "i", r.kind, "relation %q is not an index", relName)
		require.Equal(t, table.oid, r.indexOf, "index %q is not on the new table", relName)
	}
	for relName := range before {
		require.Contains(t, after, relName, "relation %q was dropped", relName)
	}
	return int64(table.oid)
}

// requireMarkersWork runs an outcome and a checkpoint round trip in the
// store's table.
func requireMarkersWork(t *testing.T, s *postgres.Store, db *sql.DB) {
	t.Helper()
	ctx := store.WithRun(t.Context(), "run-1", "job-1")
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	require.NoError(t, s.Checkpoint(ctx, tx, "step", []byte("data\x00")))
	require.NoError(t, s.Complete(ctx, tx))
	require.NoError(t, tx.Commit())

	o, err := s.Outcome(ctx, db)
	require.NoError(t, err)
	require.Equal(t, store.StatusCompleted, o.Status)
	require.Equal(t, "job-1", o.JobID)
	requireCheckpoint(t, s, ctx, db, "step", []byte("data\x00"))
}
