package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// handle runs one delivery of runID on db: a row in charges and CompleteTx,
// committed when CompleteTx returns nil.
func handle(ctx context.Context, db *sql.DB, runID string) error {
	ctx = store.WithRun(ctx, runID, "")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO charges (run_id) VALUES ($1)", runID); err != nil {
		return err
	}
	if err := postgres.CompleteTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// handleAgain redelivers runID until the error is not retryable, at most
// five times, because a pool may hold connections that a fault closed.
func handleAgain(t *testing.T, db *sql.DB, runID string) error {
	t.Helper()
	var err error
	for range 5 {
		if err = handle(context.Background(), db, runID); !store.IsRetryable(err) {
			return err
		}
		t.Logf("retryable error on redelivery of %s: %v", runID, err)
	}
	t.Fatalf("redelivery of %s still failed after 5 attempts: %v", runID, err)
	return err
}

// chargesDB returns a handle on a new schema with the marker table and a
// charges table, on the server that dsn names.
func chargesDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	admin, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	schema := newSchema(t, admin)
	db := openURLString(t, driver, dsn, map[string]string{"search_path": schema})
	require.NoError(t, postgres.EnsureTable(context.Background(), db))
	_, err = db.Exec("CREATE TABLE charges (run_id text NOT NULL)")
	require.NoError(t, err)
	return db
}

func countCharges(t *testing.T, db *sql.DB, runID string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM charges WHERE run_id = $1", runID).Scan(&n))
	return n
}

func TestServerCrashBetweenDeliveries(t *testing.T) {
	ctx := context.Background()
	server, err := pgtarget.StartServer(ctx)
	if errors.Is(err, pgtarget.ErrNoDatabase) {
		t.Skipf("crashing a server needs the PostgreSQL binaries (initdb, pg_ctl): %v", err)
	}
	require.NoError(t, err)
	defer func() { require.NoError(t, server.Close()) }()

	// The throwaway server commits asynchronously for speed; a crash
	// test needs commits that are durable when they return.
	admin, err := sql.Open("pgx", server.DSN)
	require.NoError(t, err)
	_, err = admin.Exec("ALTER SYSTEM SET synchronous_commit = on")
	require.NoError(t, err)
	_, err = admin.Exec("SELECT pg_reload_conf()")
	require.NoError(t, err)
	admin.Close()

	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, server.DSN)
		for i := range 10 {
			require.NoError(t, handle(ctx, db, fmt.Sprint("committed-", i)))
		}
		open, err := db.BeginTx(store.WithRun(ctx, "in-flight", ""), nil)
		require.NoError(t, err)
		_, err = open.Exec("INSERT INTO charges (run_id) VALUES ('in-flight')")
		require.NoError(t, err)
		require.NoError(t, postgres.CompleteTx(store.WithRun(ctx, "in-flight", ""), open))

		require.NoError(t, server.Crash(ctx))
		err = open.Commit()
		require.Error(t, err, "the server crashed before COMMIT")
		require.True(t, store.IsRetryable(err), "COMMIT after a crash: %v must be retryable", err)
		require.NoError(t, server.Restart(ctx))

		for i := range 10 {
			runID := fmt.Sprint("committed-", i)
			require.Equal(t, postgres.ErrAlreadyCompleted, handleAgain(t, db, runID), runID)
			require.Equal(t, 1, countCharges(t, db, runID), runID)
		}
		require.NoError(t, handleAgain(t, db, "in-flight"))
		require.Equal(t, 1, countCharges(t, db, "in-flight"))
	})
}

func TestTerminatedBackendBeforeCommit(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, pgtarget.DSN())
		admin := openDB(t, driver)
		ctx := store.WithRun(context.Background(), "run-1", "")

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		var pid int
		require.NoError(t, tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid))
		_, err = tx.Exec("INSERT INTO charges (run_id) VALUES ('run-1')")
		require.NoError(t, err)
		require.NoError(t, postgres.CompleteTx(ctx, tx))
		var terminated bool
		require.NoError(t, admin.QueryRow("SELECT pg_terminate_backend($1)", pid).Scan(&terminated))
		require.True(t, terminated)

		err = tx.Commit()
		require.Error(t, err)
		require.True(t, store.IsRetryable(err), "COMMIT on a terminated backend: %v must be retryable", err)
		require.Zero(t, countCharges(t, db, "run-1"), "nothing committed")

		require.NoError(t, handleAgain(t, db, "run-1"))
		require.Equal(t, 1, countCharges(t, db, "run-1"))
	})
}

func TestIdleInTransactionTimeout(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, pgtarget.DSN())
		ctx := store.WithRun(context.Background(), "run-1", "")

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.Exec("SET LOCAL idle_in_transaction_session_timeout = '100ms'")
		require.NoError(t, err)
		_, err = tx.Exec("INSERT INTO charges (run_id) VALUES ('run-1')")
		require.NoError(t, err)
		// The handler stalls; the server ends the session after 100 ms.
		time.Sleep(500 * time.Millisecond)

		err = postgres.CompleteTx(ctx, tx)
		require.Error(t, err)
		require.True(t, store.IsRetryable(err), "CompleteTx after the session ended: %v must be retryable", err)
		var storeErr *store.Error
		require.ErrorAs(t, err, &storeErr)
		_ = tx.Rollback()

		require.NoError(t, handleAgain(t, db, "run-1"), "the pool keeps working")
		require.Equal(t, 1, countCharges(t, db, "run-1"))
		done, err := postgres.IsCompleted(ctx, db)
		require.NoError(t, err)
		require.True(t, done)
	})
}
