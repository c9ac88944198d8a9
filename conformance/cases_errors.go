package conformance

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

func errorCases() []Case {
	return []Case{
		{
			Name: "errors/canceled-context",
			Rule: "Every call with a canceled context returns an error matching context.Canceled that is not retryable.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx, cancel := context.WithCancel(c.RunContext("run-1"))
				cancel()
				for _, op := range operations("step") {
					err := op.call(ctx, s, c.DB())
					require.ErrorIs(c, err, context.Canceled, op.name)
					require.False(c, store.IsRetryable(err), op.name)
				}
			},
		},
		{
			Name: "errors/expired-deadline",
			Rule: "Every call with an expired deadline returns an error matching context.DeadlineExceeded.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx, cancel := context.WithDeadline(c.RunContext("run-1"), time.Now().Add(-time.Second))
				defer cancel()
				for _, op := range operations("step") {
					require.ErrorIs(c, op.call(ctx, s, c.DB()), context.DeadlineExceeded, op.name)
				}
			},
		},
		{
			Name:     "errors/deadline-while-waiting",
			Rule:     "A Complete that waits on another transaction's lock until its deadline returns an error matching context.DeadlineExceeded, whatever the driver reported.",
			Requires: needs(isolation(sql.LevelReadCommitted), concurrentWriters),
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				holder := c.Begin(nil)
				require.NoError(c, s.Complete(ctx, holder))

				waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				tx := c.Begin(nil)
				err := s.Complete(waitCtx, tx)
				require.ErrorIs(c, err, context.DeadlineExceeded)
				requireErrorPrefix(c, err)
				require.False(c, store.IsRetryable(err))
				var storeErr *store.Error
				require.ErrorAs(c, err, &storeErr)
				require.False(c, storeErr.Retryable(), "an error after the deadline is not retryable, whatever the driver reported")
				require.NoError(c, holder.Rollback())
			},
		},
		{
			Name:     "errors/serialization-failure-retryable",
			Rule:     "At REPEATABLE READ, an outcome committed after the snapshot makes Complete fail with a retryable error, and the retry returns ErrAlreadyCompleted.",
			Requires: needs(isolation(sql.LevelRepeatableRead), concurrentWriters),
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(&sql.TxOptions{Isolation: sql.LevelRepeatableRead})
				done, err := s.IsCompleted(ctx, tx) // takes the snapshot
				require.NoError(c, err)
				require.False(c, done)

				require.NoError(c, s.Complete(ctx, c.DB()))
				err = s.Complete(ctx, tx)
				require.Error(c, err)
				require.True(c, store.IsRetryable(err), "error %v must be retryable", err)
				requireErrorPrefix(c, err)
				var storeErr *store.Error
				require.ErrorAs(c, err, &storeErr)
				require.Equal(c, "complete run", storeErr.Op)
				require.NoError(c, tx.Rollback())

				retry := c.Begin(&sql.TxOptions{Isolation: sql.LevelRepeatableRead})
				require.Equal(c, store.ErrAlreadyCompleted, s.Complete(ctx, retry))
				c.requireCommitted(retry)
			},
		},
		{
			Name: "errors/messages-have-prefix",
			Rule: "Every error the store returns starts with \"dureq: \" and wraps its cause.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Fail(ctx, c.DB(), errors.New("boom")))
				_, badTable := store.New(c.Dialect(), store.WithTable(""))
				canceled, cancel := context.WithCancel(ctx)
				cancel()
				for _, err := range []error{
					s.Complete(ctx, c.DB()),
					s.Checkpoint(store.WithRun(c.ctx, "a\x00", ""), c.DB(), "step", nil),
					s.Complete(c.ctx, c.DB()),
					s.Complete(canceled, c.DB()),
					badTable,
					store.ErrAlreadyCompleted,
					store.ErrAlreadyCheckpointed,
				} {
					requireErrorPrefix(c, err)
				}
			},
		},
	}
}
