package conformance

import (
	"errors"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

func completeCases() []Case {
	return []Case{
		{
			Name: "complete/records-outcome",
			Rule: "Complete on a run without an outcome records it as completed, with the job ID and a UTC time.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Complete(ctx, tx))
				c.requireCommitted(tx)

				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.True(c, done)
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.StatusCompleted, o.Status)
				require.Equal(c, "job-run-1", o.JobID)
				require.Empty(c, o.Message)
				require.Equal(c, time.UTC, o.At.Location())
				require.False(c, o.At.IsZero())
			},
		},
		{
			Name: "complete/after-complete-returns-sentinel",
			Rule: "Complete on a completed run returns ErrAlreadyCompleted itself.",
			Check: func(c *C) {
				s := c.NewStore()
				b := c.NewBusiness()
				require.NoError(c, c.completeOnce(s, b, "run-1"))
				err := c.completeOnce(s, b, "run-1")
				require.ErrorIs(c, err, store.ErrAlreadyCompleted)
				require.Equal(c, store.ErrAlreadyCompleted, err, "the sentinel itself, so == works too")
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "complete/after-fail-returns-failed",
			Rule: "Complete on a failed run returns an error matching ErrAlreadyFailed that carries the stored message.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Fail(ctx, tx, errors.New("card declined")))
				c.requireCommitted(tx)

				tx = c.Begin(nil)
				err := s.Complete(ctx, tx)
				require.ErrorIs(c, err, store.ErrAlreadyFailed)
				require.NotErrorIs(c, err, store.ErrAlreadyCompleted)
				var failed *store.FailedError
				require.ErrorAs(c, err, &failed)
				require.Equal(c, "card declined", failed.Message)
				require.Equal(c, "run-1", failed.RunID)
				c.requireCommitted(tx)
			},
		},
		{
			Name: "complete/twice-in-one-transaction",
			Rule: "A second Complete in the same transaction returns ErrAlreadyCompleted and the transaction still commits the first.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Complete(ctx, tx))
				require.ErrorIs(c, s.Complete(ctx, tx), store.ErrAlreadyCompleted)
				c.requireCommitted(tx)
				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.True(c, done)
			},
		},
		{
			Name: "complete/sentinel-keeps-transaction-usable",
			Rule: "After ErrAlreadyCompleted the transaction accepts more statements and commits them.",
			Check: func(c *C) {
				s := c.NewStore()
				b := c.NewBusiness()
				require.NoError(c, c.completeOnce(s, b, "run-1"))

				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.ErrorIs(c, s.Complete(ctx, tx), store.ErrAlreadyCompleted)
				require.NoError(c, b.Insert(ctx, tx, "after-sentinel"))
				c.requireCommitted(tx)
				require.Equal(c, 1, b.Count("after-sentinel"))
			},
		},
		{
			Name: "complete/rollback-records-nothing",
			Rule: "A rolled-back Complete leaves the run without an outcome, so a later Complete succeeds.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Complete(ctx, tx))
				require.NoError(c, tx.Rollback())

				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.False(c, done)
				tx = c.Begin(nil)
				require.NoError(c, s.Complete(ctx, tx))
				c.requireCommitted(tx)
			},
		},
		{
			Name: "complete/runs-are-independent",
			Rule: "Completing one run leaves every other run without an outcome.",
			Check: func(c *C) {
				s := c.NewStore()
				b := c.NewBusiness()
				require.NoError(c, c.completeOnce(s, b, "run-1"))
				require.NoError(c, c.completeOnce(s, b, "run-2"))
				done, err := s.IsCompleted(c.RunContext("run-3"), c.DB())
				require.NoError(c, err)
				require.False(c, done)
			},
		},
		{
			Name: "complete/accepts-db-and-conn",
			Rule: "Complete works on a *sql.DB and a *sql.Conn as well as a *sql.Tx.",
			Check: func(c *C) {
				s := c.NewStore()
				require.NoError(c, s.Complete(c.RunContext("on-db"), c.DB()))
				conn, err := c.DB().Conn(c.ctx)
				require.NoError(c, err)
				defer conn.Close()
				require.NoError(c, s.Complete(c.RunContext("on-conn"), conn))
				require.ErrorIs(c, s.Complete(c.RunContext("on-db"), conn), store.ErrAlreadyCompleted)
				require.ErrorIs(c, s.Complete(c.RunContext("on-conn"), c.DB()), store.ErrAlreadyCompleted)
			},
		},
		{
			Name: "complete/empty-job-id-recorded",
			Rule: "A run without a job ID completes and its outcome has an empty job ID.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := store.WithRun(c.ctx, "run-1", "")
				require.NoError(c, s.Complete(ctx, c.DB()))
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.StatusCompleted, o.Status)
				require.Equal(c, "", o.JobID)
			},
		},
	}
}
