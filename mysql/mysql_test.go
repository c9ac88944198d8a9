package mysql_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// begin starts a transaction on db and rolls it back when the test ends,
// unless it was committed.
func begin(t *testing.T, db *sql.DB, opts *sql.TxOptions) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// holdOutcome completes the run of ctx in a transaction that stays open
// until the test ends, so that other transactions wait for its row lock.
func (f *fixture) holdOutcome(t *testing.T, s *store.Store, ctx context.Context) {
	t.Helper()
	require.NoError(t, s.Complete(ctx, begin(t, f.db, nil)))
}

// requireServerError fails the test unless err is a *store.Error of class
// whose cause is the server error number.
func requireServerError(t *testing.T, err error, class dialect.Class, number uint16) {
	t.Helper()
	var storeErr *store.Error
	require.ErrorAs(t, err, &storeErr)
	require.Equal(t, class, storeErr.Class, "error: %v", err)
	var serverErr *driver.MySQLError
	require.ErrorAs(t, err, &serverErr)
	require.Equal(t, number, serverErr.Number, "error: %v", err)
}

func TestRunIDsAreCaseAndSpaceSensitive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := context.Background()
	ids := []string{"a", "A", "a ", "a  ", " a", "é", "e\u0301", "a😀", "a🙂"}
	for _, id := range ids {
		require.NoError(t, s.Complete(store.WithRun(ctx, id, "job"), f.db), "run %q is a new run", id)
	}
	for _, id := range ids {
		err := s.Complete(store.WithRun(ctx, id, "job"), f.db)
		require.Equal(t, store.ErrAlreadyCompleted, err, "run %q", id)
	}
}

func TestStepsAreCaseAndSpaceSensitive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "job")
	steps := []string{"charge", "Charge", "charge ", "charge  "}
	for _, step := range steps {
		require.NoError(t, s.Checkpoint(ctx, f.db, step, []byte(step)), "step %q", step)
	}
	for _, step := range steps {
		ok, data, err := s.IsCheckpointed(ctx, f.db, step)
		require.NoError(t, err)
		require.True(t, ok, "step %q", step)
		require.Equal(t, step, string(data), "step %q reads its own data", step)
	}
	ok, _, err := s.IsCheckpointed(ctx, f.db, "CHARGE")
	require.NoError(t, err)
	require.False(t, ok)
}

// TestConnectionCharset shows that IDs are stored as bytes and messages
// read back as utf8mb4. A connection with the 3-byte utf8 character set
// cannot encode U+1F600, yet it keeps two runs that differ only in such a
// character apart and reads such a message unchanged.
func TestConnectionCharset(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	db := openDB(t, func(cfg *driver.Config) { require.NoError(t, cfg.Apply(driver.Charset("utf8", ""))) })
	var charset string
	require.NoError(t, db.QueryRow("SELECT @@character_set_client").Scan(&charset))
	require.Contains(t, []string{"utf8", "utf8mb3"}, charset)

	ctx := context.Background()
	require.NoError(t, s.Complete(store.WithRun(ctx, "a😀", "job😀"), db))
	require.NoError(t, s.Complete(store.WithRun(ctx, "a🙂", "job🙂"), db))
	require.NoError(t, s.Fail(store.WithRun(ctx, "b", ""), f.db, errors.New("failed 🙂 é")))
	o, err := s.Outcome(store.WithRun(ctx, "a😀", ""), db)
	require.NoError(t, err)
	require.Equal(t, "job😀", o.JobID)
	o, err = s.Outcome(store.WithRun(ctx, "b", ""), db)
	require.NoError(t, err)
	require.Equal(t, "failed 🙂 é", o.Message)
}

func TestClientFoundRows(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	db := openDB(t, func(cfg *driver.Config) { cfg.ClientFoundRows = true })
	ctx := store.WithRun(context.Background(), "run-1", "job-1")

	require.NoError(t, s.Complete(ctx, db))
	require.Equal(t, store.ErrAlreadyCompleted, s.Complete(ctx, db))
	require.NoError(t, s.Checkpoint(ctx, db, "step", []byte("first")))
	require.Equal(t, store.ErrAlreadyCheckpointed, s.Checkpoint(ctx, db, "step", []byte("second")))
	_, data, err := s.IsCheckpointed(ctx, db, "step")
	require.NoError(t, err)
	require.Equal(t, []byte("first"), data)
}

// TestConformanceClientFoundRows runs the cases that depend on InsertMarker's
// row count with clientFoundRows=true, under which MySQL counts the rows a
// statement matched instead of the rows it changed.
func TestConformanceClientFoundRows(t *testing.T) {
	dsn := withDSN(testDSN, func(cfg *driver.Config) { cfg.ClientFoundRows = true })
	conformance.Test(t, conformance.Config{
		Dialect: testDialect(),
		Drivers: []conformance.Driver{{
			Name: "mysql-client-found-rows",
			Open: func(context.Context) (*sql.DB, error) { return sql.Open("mysql", dsn) },
		}},
		Match: func(name string) bool {
			for _, group := range []string{"complete/", "fail/", "checkpoint/", "race/"} {
				if strings.HasPrefix(name, group) {
					return true
				}
			}
			return false
		},
	})
}

// TestSessionTimeZone shows that created_at and Prune's cutoff are UTC
// whatever the session's time_zone, and that a driver configured to read
// times in another zone still returns the right instant.
func TestSessionTimeZone(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	tokyo := openDB(t, func(cfg *driver.Config) {
		cfg.Params = map[string]string{"time_zone": "'+09:00'"}
	})
	var zone string
	require.NoError(t, tokyo.QueryRow("SELECT @@session.time_zone").Scan(&zone))
	require.Equal(t, "+09:00", zone)

	ctx := store.WithRun(context.Background(), "run-1", "job-1")
	before := time.Now()
	require.NoError(t, s.Complete(ctx, tokyo))
	after := time.Now()

	parsed := openDB(t, func(cfg *driver.Config) {
		cfg.ParseTime = true
		cfg.Loc = time.FixedZone("UTC+9", 9*60*60)
		cfg.Params = map[string]string{"time_zone": "'+09:00'"}
	})
	for name, db := range map[string]*sql.DB{"text": tokyo, "parseTime with loc UTC+9": parsed} {
		o, err := s.Outcome(ctx, db)
		require.NoError(t, err, name)
		require.Equal(t, time.UTC, o.At.Location(), name)
		require.WithinRange(t, o.At, before.Add(-2*time.Second), after.Add(2*time.Second), name)
	}

	o, err := s.Outcome(ctx, tokyo)
	require.NoError(t, err)
	n, err := s.Prune(context.Background(), tokyo, o.At)
	require.NoError(t, err)
	require.Zero(t, n, "a cutoff equal to the marker's time keeps it")
	n, err = s.Prune(context.Background(), tokyo, o.At.Add(time.Microsecond))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "a cutoff one microsecond later deletes it")
}

// lockWaitDB returns a handle whose sessions give up a row lock wait after
// one second.
func lockWaitDB(t *testing.T) *sql.DB {
	return openDB(t, func(cfg *driver.Config) {
		cfg.Params = map[string]string{"innodb_lock_wait_timeout": "1"}
	})
}

func TestLockWaitTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "job-1")
	f.holdOutcome(t, s, ctx)

	err := s.Complete(ctx, begin(t, lockWaitDB(t), nil))
	requireServerError(t, err, dialect.ClassLockTimeout, 1205)
	require.True(t, store.IsRetryable(err))
}

func TestDeadlockIsRetryable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	base := context.Background()
	runA, runB := store.WithRun(base, "run-a", ""), store.WithRun(base, "run-b", "")

	first, second := begin(t, f.db, nil), begin(t, f.db, nil)
	require.NoError(t, s.Complete(runA, first))
	require.NoError(t, s.Complete(runB, second))

	// first waits for second's lock on run-b. second then waits for
	// first's lock on run-a, and InnoDB aborts one of them.
	waited := make(chan error, 1)
	go func() { waited <- s.Complete(runB, first) }()
	time.Sleep(200 * time.Millisecond)
	errSecond := s.Complete(runA, second)
	errFirst := <-waited

	var deadlocked error
	for _, err := range []error{errFirst, errSecond} {
		var storeErr *store.Error
		if errors.As(err, &storeErr) && storeErr.Class == dialect.ClassDeadlock {
			deadlocked = err
		}
	}
	require.Error(t, deadlocked, "one Complete must fail with a deadlock; got %v and %v", errFirst, errSecond)
	requireServerError(t, deadlocked, dialect.ClassDeadlock, 1213)
	require.True(t, store.IsRetryable(deadlocked))
}

// connectionID returns the server's ID of the connection that tx runs on.
func connectionID(t *testing.T, tx *sql.Tx) int64 {
	t.Helper()
	var id int64
	require.NoError(t, tx.QueryRow("SELECT CONNECTION_ID()").Scan(&id))
	return id
}

func TestKilledQueryIsCanceled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "job-1")
	f.holdOutcome(t, s, ctx)

	waiter := begin(t, f.db, nil)
	id := connectionID(t, waiter)
	time.AfterFunc(300*time.Millisecond, func() { _, _ = f.db.Exec("KILL QUERY ?", id) })
	err := s.Complete(ctx, waiter)
	requireServerError(t, err, dialect.ClassCanceled, 1317)
	require.False(t, store.IsRetryable(err))
}

func TestKilledConnectionIsRetryable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers")
	ctx := store.WithRun(context.Background(), "run-1", "job-1")
	tx := begin(t, f.db, nil)
	require.NoError(t, s.Checkpoint(ctx, tx, "step", nil))
	_, err := f.db.Exec("KILL CONNECTION ?", connectionID(t, tx))
	require.NoError(t, err)

	err = s.Complete(ctx, tx)
	require.Error(t, err)
	require.True(t, store.IsRetryable(err), "error %v must be retryable", err)
	require.True(t, store.IsRetryable(tx.Commit()), "COMMIT on a killed connection must be retryable")

	done, err := s.IsCompleted(ctx, f.db)
	require.NoError(t, err)
	require.False(t, done, "the killed transaction committed nothing")
}

// TestSnapshotIsolationIsRetryable runs the REPEATABLE READ race with
// MariaDB's innodb_snapshot_isolation on, under which InnoDB reports a
// duplicate that the snapshot cannot see as error 1020.
func TestSnapshotIsolationIsRetryable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var value sql.NullString
	if err := f.db.QueryRow("SELECT @@innodb_snapshot_isolation").Scan(&value); err != nil {
		t.Skipf("the server has no innodb_snapshot_isolation (MariaDB 10.6.18, 10.11.8 and later have it): %v", err)
	}
	s := f.newStore(t, "markers")
	snapshot := openDB(t, func(cfg *driver.Config) {
		cfg.Params = map[string]string{"innodb_snapshot_isolation": "ON"}
	})
	ctx := store.WithRun(context.Background(), "run-1", "job-1")
	tx := begin(t, snapshot, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	done, err := s.IsCompleted(ctx, tx)
	require.NoError(t, err)
	require.False(t, done)

	require.NoError(t, s.Complete(ctx, f.db))
	err = s.Complete(ctx, tx)
	requireServerError(t, err, dialect.ClassSerialization, 1020)
	require.True(t, store.IsRetryable(err))
}

func TestPruneSkipsLockedRows(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.newStore(t, "markers", store.WithPruneBatchSize(2))
	base := context.Background()
	for _, id := range []string{"run-1", "run-2", "run-3"} {
		require.NoError(t, s.Complete(store.WithRun(base, id, ""), f.db))
	}
	holder := begin(t, f.db, nil)
	require.NoError(t, s.Checkpoint(store.WithRun(base, "run-4", ""), holder, "step", nil))

	ctx, cancel := context.WithTimeout(base, 5*time.Second)
	defer cancel()
	n, err := s.Prune(ctx, f.db, time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err, "Prune must not wait for the uncommitted marker")
	require.Equal(t, int64(3), n)
	require.NoError(t, holder.Commit())
	ok, _, err := s.IsCheckpointed(store.WithRun(base, "run-4", ""), f.db, "step")
	require.NoError(t, err)
	require.True(t, ok, "the locked marker was kept")
}

// TestMaxDataSizeRoundTrip stores the largest checkpoint the server's
// max_allowed_packet allows, under IDs of the maximum size.
func TestMaxDataSizeRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := testDialect()
	s := f.newStore(t, "markers", store.WithMaxDataSize(d.MaxDataSize()))
	long := strings.Repeat("r", store.MaxIDSize)
	ctx := store.WithRun(context.Background(), long, long)
	data := bytes.Repeat([]byte{0x00, 0xff, 'a', 0x80}, d.MaxDataSize()/4+1)[:d.MaxDataSize()]
	require.NoError(t, s.Checkpoint(ctx, f.db, strings.Repeat("s", store.MaxIDSize), data))
	_, got, err := s.IsCheckpointed(ctx, f.db, strings.Repeat("s", store.MaxIDSize))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "data of %d bytes reads back byte-identical", len(data))
}

func TestMaxDataSize(t *testing.T) {
	for _, tc := range []struct {
		packet, want int
	}{
		{0, 16<<20 - 64<<10},
		{64 << 20, 64<<20 - 64<<10},
		{4 << 30, 1<<30 - 64<<10},
		{1024, 0},
	} {
		d := mysql.Dialect{MaxAllowedPacket: tc.packet}
		require.Equal(t, tc.want, d.MaxDataSize(), "packet %d", tc.packet)
		require.Equal(t, tc.want, d.Capabilities().MaxDataSize, "packet %d", tc.packet)
	}
}

func TestDefaultIsolationListedFirst(t *testing.T) {
	db := openDB(t, nil)
	var level string
	// MySQL 8.0 and MariaDB 11.1 name the variable transaction_isolation,
	// older servers tx_isolation.
	if err := db.QueryRow("SELECT @@transaction_isolation").Scan(&level); err != nil {
		require.NoError(t, db.QueryRow("SELECT @@tx_isolation").Scan(&level))
	}
	require.Equal(t, "REPEATABLE-READ", level, "the server's default isolation level")
	require.Equal(t, sql.LevelRepeatableRead, mysql.Dialect{}.Capabilities().IsolationLevels[0])
}
