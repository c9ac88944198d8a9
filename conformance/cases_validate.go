package conformance

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

// operation is one store method that reads the run from its context.
type operation struct {
	name string
	call func(ctx context.Context, s *store.Store, q store.Querier) error
}

// operations calls every store method with step, so that a case can check
// that each validates the same way.
func operations(step string) []operation {
	return []operation{
		{"Complete", func(ctx context.Context, s *store.Store, q store.Querier) error { return s.Complete(ctx, q) }},
		{"Fail", func(ctx context.Context, s *store.Store, q store.Querier) error {
			return s.Fail(ctx, q, errors.New("x"))
		}},
		{"Checkpoint", func(ctx context.Context, s *store.Store, q store.Querier) error {
			return s.Checkpoint(ctx, q, step, []byte("x"))
		}},
		{"IsCompleted", func(ctx context.Context, s *store.Store, q store.Querier) error {
			_, err := s.IsCompleted(ctx, q)
			return err
		}},
		{"IsCheckpointed", func(ctx context.Context, s *store.Store, q store.Querier) error {
			_, _, err := s.IsCheckpointed(ctx, q, step)
			return err
		}},
		{"Outcome", func(ctx context.Context, s *store.Store, q store.Querier) error {
			_, err := s.Outcome(ctx, q)
			return err
		}},
	}
}

// requireRejected calls each operation with ctx in one transaction that
// has a business row, and requires that each returns want and the
// message wantMessage, sends no statement, and leaves the transaction able
// to commit the row.
func requireRejected(c *C, ctx context.Context, ops []operation, want error, wantMessage string) {
	c.Helper()
	s := c.NewStore()
	b := c.NewBusiness()
	tx := c.Begin(nil)
	require.NoError(c, b.Insert(c.ctx, tx, "kept"))
	for _, op := range ops {
		counter := &countingQuerier{q: tx}
		err := op.call(ctx, s, counter)
		require.ErrorIs(c, err, want, op.name)
		require.EqualError(c, err, wantMessage, op.name)
		require.Zero(c, counter.n.Load(), "%s sent a statement for invalid input", op.name)
	}
	c.requireCommitted(tx)
	require.Equal(c, 1, b.Count("kept"))
}

func validateCases() []Case {
	long := strings.Repeat("r", store.MaxIDSize+1)
	return []Case{
		{
			Name: "validate/missing-run-returns-no-run",
			Rule: "Every call on a context without a run returns ErrNoRun before any SQL is sent.",
			Check: func(c *C) {
				requireRejected(c, c.ctx, operations("step"), store.ErrNoRun, store.ErrNoRun.Error())
			},
		},
		{
			Name: "validate/empty-run-returns-no-run",
			Rule: "Every call with an empty run ID returns ErrNoRun before any SQL is sent.",
			Check: func(c *C) {
				requireRejected(c, store.WithRun(c.ctx, "", "job"), operations("step"), store.ErrNoRun, store.ErrNoRun.Error())
			},
		},
		{
			Name: "validate/nul-in-run-id",
			Rule: "A run ID with a NUL byte is rejected, naming the offset, before any SQL is sent.",
			Check: func(c *C) {
				requireRejected(c, store.WithRun(c.ctx, "ab\x00c", "job"), operations("step"), store.ErrInvalid,
					`dureq: invalid run ID "ab\x00c": contains a NUL byte at offset 2; remove it`)
			},
		},
		{
			Name: "validate/invalid-utf8-run-id",
			Rule: "A run ID that is not valid UTF-8 is rejected, naming the offset, before any SQL is sent.",
			Check: func(c *C) {
				requireRejected(c, store.WithRun(c.ctx, "run\xff", "job"), operations("step"), store.ErrInvalid,
					`dureq: invalid run ID "run\xff": is not valid UTF-8 at offset 3; encode it as UTF-8`)
			},
		},
		{
			Name: "validate/long-run-id",
			Rule: "A run ID of 256 bytes is rejected before any SQL is sent, and one of 255 bytes is stored.",
			Check: func(c *C) {
				requireRejected(c, store.WithRun(c.ctx, long, "job"), operations("step"), store.ErrInvalid,
					`dureq: invalid run ID "`+long[:64]+`"... (256 bytes): is 256 bytes long, over the maximum of 255 bytes; use a shorter value`)
				s := c.NewStore()
				ctx := store.WithRun(c.ctx, long[:store.MaxIDSize], long[:store.MaxIDSize])
				require.NoError(c, s.Complete(ctx, c.DB()))
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, long[:store.MaxIDSize], o.JobID)
			},
		},
		{
			Name: "validate/bad-job-id",
			Rule: "A job ID with a NUL byte, invalid UTF-8 or over 255 bytes is rejected before any SQL is sent.",
			Check: func(c *C) {
				requireRejected(c, store.WithRun(c.ctx, "run", "\x00"), operations("step"), store.ErrInvalid,
					`dureq: invalid job ID "\x00": contains a NUL byte at offset 0; remove it`)
				requireRejected(c, store.WithRun(c.ctx, "run", "\xc3"), operations("step"), store.ErrInvalid,
					`dureq: invalid job ID "\xc3": is not valid UTF-8 at offset 0; encode it as UTF-8`)
				requireRejected(c, store.WithRun(c.ctx, "run", long), operations("step"), store.ErrInvalid,
					`dureq: invalid job ID "`+long[:64]+`"... (256 bytes): is 256 bytes long, over the maximum of 255 bytes; use a shorter value`)
			},
		},
		{
			Name: "validate/empty-step-rejected",
			Rule: "An empty step is rejected by Checkpoint and IsCheckpointed before any SQL is sent, because it is reserved for the outcome.",
			Check: func(c *C) {
				ops := operations("")
				requireRejected(c, c.RunContext("run"), []operation{ops[2], ops[4]}, store.ErrInvalid,
					`dureq: invalid step "": is empty; name the step, because the empty step is reserved for the outcome`)
			},
		},
		{
			Name: "validate/bad-step",
			Rule: "A step with a NUL byte, invalid UTF-8 or over 255 bytes is rejected before any SQL is sent.",
			Check: func(c *C) {
				for _, tc := range []struct{ step, message string }{
					{"st\x00ep", `dureq: invalid step "st\x00ep": contains a NUL byte at offset 2; remove it`},
					{"st\xffep", `dureq: invalid step "st\xffep": is not valid UTF-8 at offset 2; encode it as UTF-8`},
					{long, `dureq: invalid step "` + long[:64] + `"... (256 bytes): is 256 bytes long, over the maximum of 255 bytes; use a shorter value`},
				} {
					ops := operations(tc.step)
					requireRejected(c, c.RunContext("run"), []operation{ops[2], ops[4]}, store.ErrInvalid, tc.message)
				}
			},
		},
		{
			Name: "validate/nil-querier-rejected",
			Rule: "A nil querier is rejected with ErrInvalid instead of a panic.",
			Check: func(c *C) {
				s := c.NewStore()
				for _, op := range operations("step") {
					err := op.call(c.RunContext("run"), s, nil)
					require.ErrorIs(c, err, store.ErrInvalid, op.name)
				}
				_, err := s.Prune(c.ctx, nil, time.Now())
				require.ErrorIs(c, err, store.ErrInvalid, "Prune")
				require.ErrorIs(c, s.EnsureTable(c.ctx, nil), store.ErrInvalid, "EnsureTable")
			},
		},
		{
			Name: "validate/bad-table-names-rejected",
			Rule: "A store with an empty, NUL-containing or invalid UTF-8 table name is rejected at construction.",
			Check: func(c *C) {
				for _, name := range []string{"", "a\x00b", "bad\xff"} {
					_, err := store.New(c.Dialect(), store.WithTable(name))
					require.ErrorIs(c, err, store.ErrInvalid, "table %q", name)
					requireErrorPrefix(c, err)
				}
			},
		},
		{
			Name: "validate/bad-options-rejected",
			Rule: "A store with a negative or too large data limit, a message limit below 1 or a nil resolver is rejected at construction.",
			Check: func(c *C) {
				for _, opt := range []store.Option{
					store.WithMaxDataSize(-1),
					store.WithMaxDataSize(c.Capabilities().MaxDataSize + 1),
					store.WithMaxMessageSize(0),
					store.WithPruneBatchSize(0),
					store.WithRunResolver(nil),
				} {
					_, err := store.New(c.Dialect(), opt)
					require.ErrorIs(c, err, store.ErrInvalid)
				}
				_, err := store.New(nil)
				require.ErrorIs(c, err, store.ErrInvalid)
			},
		},
		{
			Name: "validate/resolver-bridges-context",
			Rule: "A run resolver reads the run from a job runner's own context keys, and its IDs are validated the same way.",
			Check: func(c *C) {
				type runnerKey struct{}
				resolver := func(ctx context.Context) (string, string) {
					id, _ := ctx.Value(runnerKey{}).(string)
					return id, "job-of-" + id
				}
				t := c.NewTable()
				s, err := store.New(c.Dialect(), store.WithSchema(t.Schema), store.WithTable(t.Name), store.WithRunResolver(resolver))
				require.NoError(c, err)
				require.NoError(c, s.EnsureTable(c.ctx, c.DB()))

				ctx := context.WithValue(c.ctx, runnerKey{}, "runner-run")
				require.NoError(c, s.Complete(ctx, c.DB()))
				o, err := s.Outcome(ctx, c.DB())
				require.NoError(c, err)
				require.Equal(c, "job-of-runner-run", o.JobID)
				require.ErrorIs(c, s.Complete(ctx, c.DB()), store.ErrAlreadyCompleted)
				require.ErrorIs(c, s.Complete(c.ctx, c.DB()), store.ErrNoRun)
				require.ErrorIs(c, s.Complete(context.WithValue(c.ctx, runnerKey{}, "a\x00"), c.DB()), store.ErrInvalid)
			},
		},
	}
}
