package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgfault"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// charge is a handler for RunTx: a row in charges and CompleteTx. It counts
// its calls in attempts.
func charge(ctx context.Context, runID string, attempts *int) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		*attempts++
		if _, err := tx.ExecContext(ctx, "INSERT INTO charges (run_id) VALUES ($1)", runID); err != nil {
			return err
		}
		return postgres.CompleteTx(ctx, tx)
	}
}

// fastRetries keeps the tests' pauses short.
var fastRetries = &postgres.TxOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

func TestRunTxCompletesOnce(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, pgtarget.DSN())
		ctx := store.WithRun(context.Background(), "run-1", "")
		attempts := 0
		require.NoError(t, postgres.RunTx(ctx, db, nil, charge(ctx, "run-1", &attempts)))
		require.NoError(t, postgres.RunTx(ctx, db, nil, charge(ctx, "run-1", &attempts)), "a duplicate is a successful no-op")
		require.Equal(t, 2, attempts)
		require.Equal(t, 1, countCharges(t, db, "run-1"), "the duplicate's row was rolled back")
	})
}

func TestRunTxReturnsFailedAsIs(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, pgtarget.DSN())
		ctx := store.WithRun(context.Background(), "run-1", "")
		require.NoError(t, postgres.RunTx(ctx, db, nil, func(tx *sql.Tx) error {
			return postgres.FailTx(ctx, tx, errors.New("card declined"))
		}))
		attempts := 0
		err := postgres.RunTx(ctx, db, nil, charge(ctx, "run-1", &attempts))
		require.ErrorIs(t, err, postgres.ErrAlreadyFailed)
		require.EqualError(t, err, `dureq: run "run-1" already failed: card declined`)
		require.Equal(t, 1, attempts, "a failed run is not retried")
		require.Zero(t, countCharges(t, db, "run-1"))
	})
}

func TestRunTxRetriesSerializationFailure(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		db := chargesDB(t, driver, pgtarget.DSN())
		ctx := store.WithRun(context.Background(), "run-1", "")
		opts := *fastRetries
		opts.Isolation = sql.LevelRepeatableRead
		attempts := 0
		err := postgres.RunTx(ctx, db, &opts, func(tx *sql.Tx) error {
			attempts++
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM charges").Scan(&n); err != nil {
				return err // this statement takes the snapshot
			}
			if attempts == 1 {
				// Another delivery commits the outcome after the snapshot.
				if err := handle(context.Background(), db, "run-1"); err != nil {
					return err
				}
			}
			return postgres.CompleteTx(ctx, tx)
		})
		require.NoError(t, err)
		require.Equal(t, 2, attempts, "the serialization failure was retried once")
		require.Equal(t, 1, countCharges(t, db, "run-1"))
	})
}

func TestRunTxHidesLostCommitReply(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		chargesDB := chargesDB(t, driver, pgtarget.DSN())
		var schema string
		require.NoError(t, chargesDB.QueryRow("SELECT current_schema()").Scan(&schema))
		db, proxy, err := pgfault.Open(context.Background(), pgtarget.DSN(), func(dsn string) (*sql.DB, error) {
			return openURLString(t, driver, dsn, map[string]string{"search_path": schema}), nil
		})
		require.NoError(t, err)
		defer proxy.Close()

		ctx := store.WithRun(context.Background(), "run-1", "")
		attempts := 0
		proxy.LoseNextCommitReply()
		require.NoError(t, postgres.RunTx(ctx, db, fastRetries, charge(ctx, "run-1", &attempts)))
		require.Equal(t, 2, attempts, "the lost reply made RunTx run the handler again")
		require.Equal(t, 1, proxy.Counts()[pgfault.LostCommitReply])
		require.Equal(t, 1, countCharges(t, chargesDB, "run-1"))
	})
}

func TestRunTxBoundsAttempts(t *testing.T) {
	db := chargesDB(t, "pgx", pgtarget.DSN())
	opts := *fastRetries
	opts.MaxAttempts = 3
	attempts := 0
	deadlock := sqlStateError("40P01")
	err := postgres.RunTx(context.Background(), db, &opts, func(tx *sql.Tx) error {
		attempts++
		return deadlock
	})
	require.Equal(t, 3, attempts)
	require.ErrorIs(t, err, deadlock)
	require.EqualError(t, err, "dureq: transaction failed after 3 attempts: server error 40P01")
}

func TestRunTxStopsWhenCanceled(t *testing.T) {
	db := chargesDB(t, "pgx", pgtarget.DSN())
	ctx, cancel := context.WithCancel(context.Background())
	opts := &postgres.TxOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour}
	err := postgres.RunTx(ctx, db, opts, func(tx *sql.Tx) error {
		cancel()
		return sqlStateError("40001")
	})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, sqlStateError("40001"))
}

func TestRunTxRollsBackOnPanic(t *testing.T) {
	db := chargesDB(t, "pgx", pgtarget.DSN())
	ctx := store.WithRun(context.Background(), "run-1", "")
	require.PanicsWithValue(t, "handler bug", func() {
		_ = postgres.RunTx(ctx, db, nil, func(tx *sql.Tx) error {
			if _, err := tx.Exec("INSERT INTO charges (run_id) VALUES ('run-1')"); err != nil {
				return err
			}
			panic("handler bug")
		})
	})
	require.Zero(t, countCharges(t, db, "run-1"))
}

func TestRunTxRejectsBadArguments(t *testing.T) {
	db := openDB(t, "pgx")
	noop := func(*sql.Tx) error { return nil }
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"nil database rejected", postgres.RunTx(context.Background(), nil, nil, noop)},
		{"nil function rejected", postgres.RunTx(context.Background(), db, nil, nil)},
		{"negative attempts rejected", postgres.RunTx(context.Background(), db, &postgres.TxOptions{MaxAttempts: -1}, noop)},
		{"inverted backoff rejected", postgres.RunTx(context.Background(), db, &postgres.TxOptions{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, noop)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.err, postgres.ErrInvalid)
		})
	}
}

func TestFromGettersBridgesRunner(t *testing.T) {
	type runKey struct{}
	type jobKey struct{}
	getRun := func(ctx context.Context) string { v, _ := ctx.Value(runKey{}).(string); return v }
	getJob := func(ctx context.Context) string { v, _ := ctx.Value(jobKey{}).(string); return v }
	resolve := store.FromGetters(getRun, getJob)

	ctx := context.WithValue(context.WithValue(context.Background(), runKey{}, "r1"), jobKey{}, "j1")
	runID, jobID := resolve(ctx)
	require.Equal(t, "r1", runID)
	require.Equal(t, "j1", jobID)

	runID, jobID = store.FromGetters(nil, getJob)(ctx)
	require.Equal(t, "", runID, "a nil run getter resolves no run")
	require.Equal(t, "j1", jobID)
}
