package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/sqlitetarget"
	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// racers is how many goroutines race on one run.
const racers = 16

// openWithParams opens a new database file in the test's temporary
// directory with the DSN parameters params.
func openWithParams(t *testing.T, params string) *sql.DB {
	t.Helper()
	dsn := "file:" + filepath.ToSlash(filepath.Join(t.TempDir(), "test.db")) + "?" + params
	db, err := sqlitetarget.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// chargeOnce is one delivery of a handler that reads the charges table
// before it writes, so that a deferred transaction has to upgrade its
// read lock to the write lock, then inserts a charge and completes the run.
func chargeOnce(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var charges int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM charges").Scan(&charges); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO charges (run_id) VALUES (?)", "run-1"); err != nil {
		return err
	}
	if err := sqlite.CompleteTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// holdWriteLock takes the write lock on a connection of its own and
// releases it after d, so that every racer meets a busy database.
func holdWriteLock(t *testing.T, db *sql.DB, d time.Duration) (released <-chan struct{}) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		time.Sleep(d)
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
	}()
	return done
}

// raceTally counts how the racers' attempts ended.
type raceTally struct {
	mu        sync.Mutex
	committed int
	sentinels int
	retries   int
	locked    int     // retryable errors that said "database is locked"
	others    []error // errors that are neither a sentinel nor retryable
}

func TestRacingCompletionsHaveOneWinner(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		params string
		// alwaysBusy is set when a racer that meets the held lock gets
		// SQLITE_BUSY at once instead of waiting.
		alwaysBusy bool
	}{
		{name: "Recommended", params: sqlitetarget.RecommendedParams},
		{name: "DeferredWithBusyTimeout", params: "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"},
		{name: "ImmediateWithoutBusyTimeout", params: "_pragma=journal_mode(WAL)&_txlock=immediate", alwaysBusy: true},
		{name: "DeferredWithoutBusyTimeout", params: "_pragma=journal_mode(WAL)", alwaysBusy: true},
		{name: "RollbackJournalDeferred", params: "_pragma=busy_timeout(5000)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openWithParams(t, tc.params)
			require.NoError(t, sqlite.EnsureTable(ctx, db))
			_, err := db.ExecContext(ctx, "CREATE TABLE charges (run_id TEXT NOT NULL)")
			require.NoError(t, err)

			released := holdWriteLock(t, db, 100*time.Millisecond)
			runCtx := store.WithRun(ctx, "run-1", "job-1")
			tally := &raceTally{}
			var wg sync.WaitGroup
			for range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					race(runCtx, db, tally)
				}()
			}
			wg.Wait()
			<-released

			require.Empty(t, tally.others, "every error must be a sentinel or retryable")
			require.Equal(t, 1, tally.committed, "committed handlers")
			require.Equal(t, racers-1, tally.sentinels, "handlers that got ErrAlreadyCompleted")
			var charges int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM charges").Scan(&charges))
			require.Equal(t, 1, charges, "committed charges")
			if tc.alwaysBusy {
				require.Positive(t, tally.locked, "racers that met the held lock without a busy timeout")
			}
			t.Logf("%d retries, %d of them on \"database is locked\"", tally.retries, tally.locked)
		})
	}
}

// race delivers the run until an attempt commits or gets the sentinel,
// retrying retryable errors after a short random pause.
func race(ctx context.Context, db *sql.DB, tally *raceTally) {
	const maxAttempts = 200
	for attempt := 1; ; attempt++ {
		err := chargeOnce(ctx, db)
		tally.mu.Lock()
		switch {
		case err == nil:
			tally.committed++
		case errors.Is(err, sqlite.ErrAlreadyCompleted):
			tally.sentinels++
		case store.IsRetryable(err) && attempt < maxAttempts:
			tally.retries++
			if strings.Contains(err.Error(), "database is locked") {
				tally.locked++
			}
			tally.mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(5)+1) * time.Millisecond)
			continue
		default:
			tally.others = append(tally.others, err)
		}
		tally.mu.Unlock()
		return
	}
}

// concurrently calls f(0) to f(n-1) in goroutines of their own and returns
// their errors by index.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

func TestRunTxRetriesBusyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Without a busy timeout every racer that meets the lock gets
	// SQLITE_BUSY at once, which RunTx must retry.
	db := openWithParams(t, "_pragma=journal_mode(WAL)&_txlock=immediate")
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	_, err := db.ExecContext(ctx, "CREATE TABLE charges (run_id TEXT NOT NULL)")
	require.NoError(t, err)

	released := holdWriteLock(t, db, 50*time.Millisecond)
	runCtx := store.WithRun(ctx, "run-1", "job-1")
	opts := &sqlite.TxOptions{MaxAttempts: 100, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	errs := concurrently(racers, func(int) error {
		return sqlite.RunTx(runCtx, db, opts, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(runCtx, "INSERT INTO charges (run_id) VALUES (?)", "run-1"); err != nil {
				return err
			}
			return sqlite.CompleteTx(runCtx, tx)
		})
	})
	<-released

	for i, err := range errs {
		require.NoError(t, err, "RunTx of racer %d", i)
	}
	var charges int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM charges").Scan(&charges))
	require.Equal(t, 1, charges)
}

func TestCheckpointRaceStoresWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	runCtx := store.WithRun(ctx, "run-1", "job-1")

	errs := concurrently(racers, func(i int) error {
		return sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error {
			return sqlite.CheckpointTx(runCtx, tx, "step", []byte{byte(i)})
		})
	})

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "racers %d and %d both stored the checkpoint", winner, i)
			winner = i
			continue
		}
		require.ErrorIs(t, err, sqlite.ErrAlreadyCheckpointed, "racer %d", i)
	}
	require.NotEqual(t, -1, winner, "no racer stored the checkpoint")
	ok, data, err := sqlite.IsCheckpointed(runCtx, db, "step")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte{byte(winner)}, data)
}

func TestDeadlineWhileWaitingForLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer holder.Rollback()
	runCtx := store.WithRun(ctx, "run-1", "job-1")
	require.NoError(t, sqlite.CompleteTx(runCtx, holder))

	// On a *sql.DB the insert runs in a transaction of its own, which
	// waits for the holder's write lock until the deadline.
	waitCtx, cancel := context.WithTimeout(runCtx, 300*time.Millisecond)
	defer cancel()
	s, err := sqlite.New()
	require.NoError(t, err)
	start := time.Now()
	err = s.Complete(waitCtx, db)
	require.Less(t, time.Since(start), 4*time.Second, "the wait must end at the deadline, not at busy_timeout")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.True(t, strings.HasPrefix(err.Error(), "dureq: "), "error %q", err)
	require.False(t, store.IsRetryable(err), "an error after the deadline is not retryable")

	require.NoError(t, holder.Commit())
	require.ErrorIs(t, s.Complete(runCtx, db), sqlite.ErrAlreadyCompleted)
}

// secondWaitsForFirst completes the run in a first transaction, starts a
// second transaction that completes it too, and ends the first with end
// once the second is waiting. It returns the second CompleteTx's error.
func secondWaitsForFirst(t *testing.T, end func(*sql.Tx) error) error {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	runCtx := store.WithRun(ctx, "run-1", "job-1")
	first, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer first.Rollback()
	require.NoError(t, sqlite.CompleteTx(runCtx, first))

	result := make(chan error, 1)
	go func() {
		// With _txlock=immediate the wait happens in BeginTx.
		second, err := db.BeginTx(ctx, nil)
		if err != nil {
			result <- err
			return
		}
		defer second.Rollback()
		if err := sqlite.CompleteTx(runCtx, second); err != nil {
			result <- err
			return
		}
		result <- second.Commit()
	}()
	select {
	case err := <-result:
		t.Fatalf("second transaction returned %v before the first ended; it must wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, end(first))
	return <-result
}

func TestSecondCompletionWaitsForFirst(t *testing.T) {
	t.Parallel()
	t.Run("FirstCommits", func(t *testing.T) {
		t.Parallel()
		require.ErrorIs(t, secondWaitsForFirst(t, (*sql.Tx).Commit), sqlite.ErrAlreadyCompleted)
	})
	t.Run("FirstRollsBack", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, secondWaitsForFirst(t, (*sql.Tx).Rollback))
	})
}
