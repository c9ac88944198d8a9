package conformance

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// RunContext returns the case's context carrying runID and the job ID
// "job-" + runID.
func (c *C) RunContext(runID string) context.Context {
	return store.WithRun(c.ctx, runID, "job-"+runID)
}

// Begin starts a transaction on the case's database and rolls it back when
// the case ends, unless it was committed.
func (c *C) Begin(opts *sql.TxOptions) *sql.Tx {
	tx, err := c.DB().BeginTx(c.ctx, opts)
	require.NoError(c, err, "begin transaction")
	c.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// Faulty returns a new handle to the database whose connections pass
// through a fault injector, and the injector, both closed when the case
// ends. It skips the case when the driver has no OpenFaulty function.
func (c *C) Faulty() (*sql.DB, Faults) {
	if c.run.drv.OpenFaulty == nil {
		c.Skipf("driver %s has no fault injector; set Driver.OpenFaulty", c.Driver())
	}
	db, faults, err := c.run.drv.OpenFaulty(c.ctx)
	if errors.Is(err, ErrFaultsUnavailable) {
		c.Skipf("%v", err)
	}
	require.NoError(c, err, "open database through the fault injector")
	c.Cleanup(func() {
		db.Close()
		if err := faults.Close(); err != nil {
			c.Errorf("close fault injector: %v", err)
		}
	})
	return db, faults
}

// Business is a table of business rows, one per handler execution, so that
// a case can count how often a run's work was committed.
type Business struct {
	c    *C
	name string // quoted, qualified
}

// NewBusiness creates an empty business table in the run's namespace.
func (c *C) NewBusiness() *Business {
	t := c.NewTable()
	b := &Business{c: c, name: c.qualified(t)}
	_, err := c.DB().ExecContext(c.ctx, "CREATE TABLE "+b.name+" (run_id VARCHAR(255) NOT NULL)")
	require.NoError(c, err, "create business table")
	return b
}

// Insert writes one business row for runID in q.
func (b *Business) Insert(ctx context.Context, q store.Querier, runID string) error {
	_, err := q.ExecContext(ctx, "INSERT INTO "+b.name+" (run_id) VALUES ("+b.c.Dialect().Placeholder(1)+")", runID)
	return err
}

// Count returns the number of committed business rows of runID.
func (b *Business) Count(runID string) int {
	var n int
	err := b.c.DB().QueryRowContext(b.c.ctx,
		"SELECT COUNT(*) FROM "+b.name+" WHERE run_id = "+b.c.Dialect().Placeholder(1), runID).Scan(&n)
	require.NoError(b.c, err, "count business rows")
	return n
}

// countingQuerier counts the statements sent through it, so that a case can
// show that invalid input sends none.
type countingQuerier struct {
	q store.Querier
	n atomic.Int64
}

func (cq *countingQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	cq.n.Add(1)
	return cq.q.ExecContext(ctx, query, args...)
}

func (cq *countingQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	cq.n.Add(1)
	return cq.q.QueryRowContext(ctx, query, args...)
}

// requireCommitted commits tx and fails the case when the commit fails,
// which also shows that no earlier error aborted the transaction.
func (c *C) requireCommitted(tx *sql.Tx) {
	c.Helper()
	require.NoError(c, tx.Commit(), "commit: the transaction must still be usable")
}

// completeOnce runs one handler transaction for runID on the case's
// database; see deliver.
func (c *C) completeOnce(s *store.Store, b *Business, runID string) error {
	return deliver(c.RunContext(runID), c.DB(), s, b, runID)
}

// deliver runs one delivery of a handler on db: a business row and
// Complete in one transaction, committed when Complete returns nil. It
// returns the error of the first step that failed.
func deliver(ctx context.Context, db *sql.DB, s *store.Store, b *Business, runID string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := b.Insert(ctx, tx, runID); err != nil {
		return err
	}
	if err := s.Complete(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// requireErrorPrefix fails the case when err does not start with "dureq: ".
func requireErrorPrefix(c *C, err error) {
	c.Helper()
	require.Error(c, err)
	require.True(c, strings.HasPrefix(err.Error(), "dureq: "), "error %q must start with \"dureq: \"", err.Error())
}

// needs returns a Requires function that checks each condition.
func needs(conds ...func(dialect.Capabilities) string) func(dialect.Capabilities) string {
	return func(caps dialect.Capabilities) string {
		for _, cond := range conds {
			if reason := cond(caps); reason != "" {
				return reason
			}
		}
		return ""
	}
}

func isolation(level sql.IsolationLevel) func(dialect.Capabilities) string {
	return func(caps dialect.Capabilities) string {
		if caps.SupportsIsolation(level) {
			return ""
		}
		return "the dialect does not declare isolation level " + level.String()
	}
}

func concurrentWriters(caps dialect.Capabilities) string {
	if caps.ConcurrentWriters {
		return ""
	}
	return "the dialect does not declare concurrent writers"
}

func schemas(caps dialect.Capabilities) string {
	if caps.Schemas {
		return ""
	}
	return "the dialect does not declare schemas"
}

func dataSize(n int) func(dialect.Capabilities) string {
	return func(caps dialect.Capabilities) string {
		if caps.MaxDataSize >= n {
			return ""
		}
		return "the dialect's maximum data size is below the size this case stores"
	}
}
