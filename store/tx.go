package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// TxOptions configures RunTx. The zero value, or a nil *TxOptions, begins
// transactions at the database's default isolation level and makes up to
// DefaultMaxAttempts attempts.
type TxOptions struct {
	// Isolation and ReadOnly are passed to BeginTx.
	Isolation sql.IsolationLevel
	ReadOnly  bool
	// MaxAttempts bounds the attempts, the first included. Zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the pause before each retry, which
	// doubles from MinBackoff up to MaxBackoff and is drawn at random below
	// that bound, so that racing handlers do not retry in step. Zero means
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// Defaults of TxOptions.
const (
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = 10 * time.Millisecond
	DefaultMaxBackoff  = time.Second
)

// RunTx runs fn in a transaction on db and commits it when fn returns nil.
//
// It retries the whole transaction, fn included, while the error from
// BeginTx, fn or Commit is retryable by IsRetryable: a serialization
// failure, a deadlock or a lost connection. It makes up to the maximum
// number of attempts, with a random pause before each retry.
//
// When fn returns an error matching ErrAlreadyCompleted, RunTx rolls back
// and returns nil: the run's work was done by an earlier delivery. When it
// returns an error matching ErrAlreadyFailed, or any other error, RunTx
// rolls back and returns that error unchanged. Errors of BeginTx and Commit
// come back wrapped, with the "dureq: " prefix. A panic in fn rolls back and
// panics again.
//
// A lost COMMIT reply surfaces as a retryable error from Commit, so RunTx
// runs fn again. If fn records the outcome with Complete, the retry finds
// the committed marker, fn gets ErrAlreadyCompleted, and RunTx returns nil:
// the lost reply is invisible to the caller. A fn that writes without a
// marker must not be retried this way, because its first attempt may have
// committed. When the attempts run out, RunTx returns an error that wraps
// the last attempt's error.
func RunTx(ctx context.Context, db *sql.DB, opts *TxOptions, fn func(tx *sql.Tx) error) error {
	if db == nil {
		return &ValidationError{Field: "database", Reason: "is nil; pass an open *sql.DB"}
	}
	if fn == nil {
		return &ValidationError{Field: "transaction function", Reason: "is nil; pass the function to run"}
	}
	o := withTxDefaults(opts)
	if err := o.check(); err != nil {
		return err
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = runOnce(ctx, db, o, fn)
		switch {
		case err == nil, errors.Is(err, ErrAlreadyCompleted):
			return nil
		case !IsRetryable(err):
			return err
		case attempt == o.MaxAttempts:
			return fmt.Errorf("dureq: transaction failed after %d attempts: %w", attempt, err)
		}
		if waitErr := sleep(ctx, o.backoff(attempt)); waitErr != nil {
			return fmt.Errorf("dureq: transaction retry canceled after %d attempts: %w: %w", attempt, waitErr, err)
		}
	}
}

func withTxDefaults(opts *TxOptions) TxOptions {
	var o TxOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return o
}

func (o TxOptions) check() error {
	switch {
	case o.MaxAttempts < 0:
		return &ValidationError{Field: "maximum attempts", Value: fmt.Sprint(o.MaxAttempts), Reason: "is negative; use 1 or more, or 0 for the default"}
	case o.MinBackoff < 0 || o.MaxBackoff < 0:
		return &ValidationError{Field: "backoff", Value: fmt.Sprint(o.MinBackoff, " to ", o.MaxBackoff), Reason: "is negative; use positive durations, or 0 for the defaults"}
	case o.MinBackoff > o.MaxBackoff:
		return &ValidationError{Field: "backoff", Value: fmt.Sprint(o.MinBackoff, " to ", o.MaxBackoff), Reason: "has a minimum above its maximum; swap them"}
	}
	return nil
}

// backoff returns the pause before the retry that follows attempt: a
// random duration below MinBackoff doubled attempt-1 times, capped at
// MaxBackoff.
func (o TxOptions) backoff(attempt int) time.Duration {
	bound := o.MinBackoff
	for i := 1; i < attempt && bound < o.MaxBackoff; i++ {
		bound *= 2
	}
	bound = min(bound, o.MaxBackoff)
	if bound <= 0 {
		return 0
	}
	return rand.N(bound)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runOnce runs one attempt of RunTx.
func runOnce(ctx context.Context, db *sql.DB, o TxOptions, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: o.Isolation, ReadOnly: o.ReadOnly})
	if err != nil {
		return fmt.Errorf("dureq: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dureq: commit transaction: %w", err)
	}
	return nil
}

// FromGetters returns a RunResolver that reads the run ID and job ID with
// two functions, such as a job runner's accessors for its own context keys.
// For dureq:
//
//	store.WithRunResolver(store.FromGetters(types.GetRunID, types.GetJobID))
func FromGetters(runID, jobID func(ctx context.Context) string) RunResolver {
	return func(ctx context.Context) (string, string) {
		var job string
		if jobID != nil {
			job = jobID(ctx)
		}
		if runID == nil {
			return "", job
		}
		return runID(ctx), job
	}
}
