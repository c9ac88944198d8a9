package conformance

import (
	"errors"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

func failCases() []Case {
	return []Case{
		{
			Name: "fail/records-message",
			Rule: "Fail on a run without an outcome records it as failed with the error's message.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Fail(ctx, tx, errors.New("card declined")))
				c.requireCommitted(tx)

				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.StatusFailed, o.Status)
				require.Equal(c, "card declined", o.Message)
				require.Equal(c, "job-run-1", o.JobID)
				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.False(c, done, "a failed run is not completed")
			},
		},
		{
			Name: "fail/after-complete-returns-sentinel",
			Rule: "Fail on a completed run returns ErrAlreadyCompleted and keeps the completed outcome.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Complete(ctx, c.DB()))
				tx := c.Begin(nil)
				require.ErrorIs(c, s.Fail(ctx, tx, errors.New("late failure")), store.ErrAlreadyCompleted)
				c.requireCommitted(tx)
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.StatusCompleted, o.Status)
			},
		},
		{
			Name: "fail/after-fail-returns-failed",
			Rule: "Fail on a failed run returns an error matching ErrAlreadyFailed and keeps the first message.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Fail(ctx, c.DB(), errors.New("first")))
				tx := c.Begin(nil)
				err := s.Fail(ctx, tx, errors.New("second"))
				require.ErrorIs(c, err, store.ErrAlreadyFailed)
				var failed *store.FailedError
				require.ErrorAs(c, err, &failed)
				require.Equal(c, "first", failed.Message)
				c.requireCommitted(tx)
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, "first", o.Message)
			},
		},
		{
			Name: "fail/nil-error-records-empty-message",
			Rule: "Fail with a nil error records a failed outcome with an empty message.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Fail(ctx, c.DB(), nil))
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.StatusFailed, o.Status)
				require.Equal(c, "", o.Message)
				require.EqualError(c, s.Complete(ctx, c.DB()), `dureq: run "run-1" already failed`)
			},
		},
		{
			Name: "fail/message-stored-sanitized",
			Rule: "A message with NUL bytes and invalid UTF-8 is stored with U+FFFD in their place, and the transaction commits.",
			Check: func(c *C) {
				s := c.NewStore()
				b := c.NewBusiness()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, b.Insert(ctx, tx, "run-1"))
				require.NoError(c, s.Fail(ctx, tx, errors.New("nul\x00bad\xff\xfeend")))
				c.requireCommitted(tx)
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, "nul\uFFFDbad\uFFFDend", o.Message)
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fail/message-cut-at-limit",
			Rule: "A message longer than the store's limit is cut at a character boundary to at most the limit.",
			Check: func(c *C) {
				s := c.NewStore(store.WithMaxMessageSize(10))
				ctx := c.RunContext("run-1")
				// "é" is two bytes, so byte 10 falls inside the fifth one.
				require.NoError(c, s.Fail(ctx, c.DB(), errors.New("a"+strings.Repeat("é", 8))))
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, "a"+strings.Repeat("é", 4), o.Message)

				long := c.NewStore()
				ctx = c.RunContext("run-2")
				require.NoError(c, long.Fail(ctx, c.DB(), errors.New(strings.Repeat("x", store.DefaultMaxMessageSize+100))))
				o, err = long.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Len(c, o.Message, store.DefaultMaxMessageSize)
			},
		},
		{
			Name: "fail/no-outcome-reads-none",
			Rule: "A run without an outcome reads back as StatusNone and not completed.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("never-ran")
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, store.Outcome{}, o)
				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.False(c, done)
			},
		},
	}
}
