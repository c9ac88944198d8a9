// Package defaultstore implements the package-level functions that every
// dialect package of this module exports, such as postgres.CompleteTx, on a
// store with the default options. Each dialect package declares the
// functions with its own documentation and calls the methods of one
// Functions value, so the dialects share one implementation.
package defaultstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// Functions are the package-level functions of one dialect package. The
// zero value is not usable; build one with New. It is safe for concurrent
// use.
type Functions struct {
	store *store.Store
}

// New returns the functions on a store of d with the default options. It
// panics when d rejects those options, such as the default table name,
// because a dialect package builds its Functions when it is initialized and
// cannot return an error then.
func New(d dialect.Dialect) Functions {
	s, err := store.New(d)
	if err != nil {
		panic("dureq: build the default store of the " + d.Name() + " dialect: " + err.Error())
	}
	return Functions{store: s}
}

// EnsureTable runs store.Store.EnsureTable.
func (f Functions) EnsureTable(ctx context.Context, db *sql.DB) error {
	return f.store.EnsureTable(ctx, db)
}

// CompleteTx runs store.Store.Complete in tx.
func (f Functions) CompleteTx(ctx context.Context, tx *sql.Tx) error {
	return f.store.Complete(ctx, tx)
}

// FailTx runs store.Store.Fail in tx.
func (f Functions) FailTx(ctx context.Context, tx *sql.Tx, err error) error {
	return f.store.Fail(ctx, tx, err)
}

// CheckpointTx runs store.Store.Checkpoint in tx.
func (f Functions) CheckpointTx(ctx context.Context, tx *sql.Tx, step string, data []byte) error {
	return f.store.Checkpoint(ctx, tx, step, data)
}

// IsCompleted runs store.Store.IsCompleted on db.
func (f Functions) IsCompleted(ctx context.Context, db *sql.DB) (bool, error) {
	return f.store.IsCompleted(ctx, db)
}

// IsCheckpointed runs store.Store.IsCheckpointed on db.
func (f Functions) IsCheckpointed(ctx context.Context, db *sql.DB, step string) (bool, []byte, error) {
	return f.store.IsCheckpointed(ctx, db, step)
}

// Outcome runs store.Store.Outcome on db.
func (f Functions) Outcome(ctx context.Context, db *sql.DB) (store.Outcome, error) {
	return f.store.Outcome(ctx, db)
}

// Prune runs store.Store.Prune on db.
func (f Functions) Prune(ctx context.Context, db *sql.DB, before time.Time) (int64, error) {
	return f.store.Prune(ctx, db, before)
}
