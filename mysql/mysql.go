package mysql

import (
	"context"
	"database/sql"
	"time"

	"github.com/dureqsql/completion/internal/defaultstore"
	"github.com/dureqsql/completion/store"
)

// The sentinel errors of package store, under this package's name. They are
// the same values, so errors.Is matches either name.
var (
	// ErrAlreadyCompleted is returned by CompleteTx and FailTx when the run
	// already completed. The transaction stays usable.
	ErrAlreadyCompleted = store.ErrAlreadyCompleted

	// ErrAlreadyFailed is matched by the *store.FailedError that CompleteTx
	// and FailTx return when the run already failed. The transaction stays
	// usable.
	ErrAlreadyFailed = store.ErrAlreadyFailed

	// ErrAlreadyCheckpointed is returned by CheckpointTx when the step
	// already has a checkpoint. The transaction stays usable.
	ErrAlreadyCheckpointed = store.ErrAlreadyCheckpointed

	// ErrNoRun is returned, before any SQL is sent, when the context carries
	// no run ID.
	ErrNoRun = store.ErrNoRun

	// ErrInvalid is matched by every validation error, which is returned
	// before any SQL is sent.
	ErrInvalid = store.ErrInvalid
)

// Store keeps markers in one table. Build one with New.
type Store = store.Store

// New returns a store on MySQL or MariaDB, configured by options from
// package store such as store.WithTable and store.WithSchema (a database
// name). It returns an error matching ErrInvalid for an invalid option,
// before any SQL is sent. For a server with a max_allowed_packet above
// 16 MiB, build the store with store.New and a Dialect with that
// MaxAllowedPacket.
func New(opts ...store.Option) (*Store, error) {
	return store.New(Dialect{}, opts...)
}

// defaults serves the package-level functions: the table dureq_completions
// in the connection's default database.
var defaults = defaultstore.New(Dialect{})

// EnsureTable creates the table dureq_completions in the connection's
// default database. It sends one information_schema query and no DDL when
// the table exists, and runs its DDL outside any transaction, under a named
// lock. See Store.EnsureTable.
func EnsureTable(ctx context.Context, db *sql.DB) error {
	return defaults.EnsureTable(ctx, db)
}

// CompleteTx records in tx that the run of ctx completed. It returns nil,
// ErrAlreadyCompleted, or an error matching ErrAlreadyFailed; see
// Store.Complete.
func CompleteTx(ctx context.Context, tx *sql.Tx) error {
	return defaults.CompleteTx(ctx, tx)
}

// FailTx records in tx that the run of ctx failed with err, which may be
// nil. See Store.Fail.
func FailTx(ctx context.Context, tx *sql.Tx, err error) error {
	return defaults.FailTx(ctx, tx, err)
}

// CheckpointTx records data under step for the run of ctx in tx. It returns
// ErrAlreadyCheckpointed when the step already has a checkpoint. See
// Store.Checkpoint.
func CheckpointTx(ctx context.Context, tx *sql.Tx, step string, data []byte) error {
	return defaults.CheckpointTx(ctx, tx, step, data)
}

// IsCompleted reports whether the run of ctx completed.
func IsCompleted(ctx context.Context, db *sql.DB) (bool, error) {
	return defaults.IsCompleted(ctx, db)
}

// IsCheckpointed returns whether step has a checkpoint for the run of ctx,
// and its data.
func IsCheckpointed(ctx context.Context, db *sql.DB, step string) (bool, []byte, error) {
	return defaults.IsCheckpointed(ctx, db, step)
}

// Outcome returns the stored outcome of the run of ctx and, for a failed
// run, its message.
func Outcome(ctx context.Context, db *sql.DB) (store.Outcome, error) {
	return defaults.Outcome(ctx, db)
}

// Prune deletes the markers created before the given time and returns how
// many it deleted, skipping rows that other transactions hold locked. See
// Store.Prune for how long to keep markers.
func Prune(ctx context.Context, db *sql.DB, before time.Time) (int64, error) {
	return defaults.Prune(ctx, db, before)
}

// TxOptions configures RunTx.
type TxOptions = store.TxOptions

// RunTx runs fn in a transaction on db, commits it, and retries the whole
// transaction on deadlocks, lock wait timeouts and lost connections. It
// returns nil when fn returns ErrAlreadyCompleted, and a lost COMMIT reply
// ends there too, because the retry finds the committed marker. See
// store.RunTx.
func RunTx(ctx context.Context, db *sql.DB, opts *TxOptions, fn func(tx *sql.Tx) error) error {
	return store.RunTx(ctx, db, opts, fn)
}
