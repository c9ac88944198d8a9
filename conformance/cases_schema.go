package conformance

import (
	"context"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

func schemaCases() []Case {
	return []Case{
		{
			Name: "schema/ensure-table-idempotent",
			Rule: "EnsureTable called again on an existing table succeeds and keeps every marker.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Complete(ctx, c.DB()))
				require.NoError(c, s.Checkpoint(ctx, c.DB(), "step", []byte("data")))
				for i := 0; i < 3; i++ {
					require.NoError(c, s.EnsureTable(c.ctx, c.DB()))
				}
				require.ErrorIs(c, s.Complete(ctx, c.DB()), store.ErrAlreadyCompleted)
				_, data, err := s.IsCheckpointed(ctx, c.DB(), "step")
				require.NoError(c, err)
				require.Equal(c, []byte("data"), data)
			},
		},
		{
			Name: "schema/concurrent-ensure-table",
			Rule: "32 concurrent EnsureTable calls on a missing table all succeed and leave one working table.",
			Check: func(c *C) {
				t := c.NewTable()
				s, err := store.New(c.Dialect(), store.WithSchema(t.Schema), store.WithTable(t.Name))
				require.NoError(c, err)
				errs := make([]error, 32)
				var wg sync.WaitGroup
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = s.EnsureTable(c.ctx, c.DB())
					}()
				}
				wg.Wait()
				for i, err := range errs {
					require.NoError(c, err, "call %d", i)
				}
				require.NoError(c, s.Complete(c.RunContext("run-1"), c.DB()))
			},
		},
		{
			Name:     "schema/quoted-names-round-trip",
			Rule:     "A table name with spaces, quotes and mixed case in a mixed-case schema works like any other.",
			Requires: schemas,
			Check: func(c *C) {
				ns, ok := c.Dialect().(dialect.Namespacer)
				if !ok {
					c.Skipf("the dialect declares schemas but does not implement dialect.Namespacer")
				}
				// The run's prefix lets a user find the schema if a drop
				// ever fails.
				schema := randomName(`dureq_conformance_Mixed "Schema" `)
				require.NoError(c, ns.CreateNamespace(c.ctx, c.DB(), schema))
				c.Cleanup(func() {
					// The case's context may be canceled by now.
					ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 30*time.Second)
					defer cancel()
					if err := ns.DropNamespace(ctx, c.DB(), schema); err != nil {
						c.Errorf("drop schema %q: %v", schema, err)
					}
				})
				s, err := store.New(c.Dialect(), store.WithSchema(schema), store.WithTable(`Completion "Markers"; DROP TABLE x`))
				require.NoError(c, err)
				require.NoError(c, s.EnsureTable(c.ctx, c.DB()))
				require.NoError(c, s.EnsureTable(c.ctx, c.DB()))
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Checkpoint(ctx, c.DB(), "step", []byte("x")))
				require.NoError(c, s.Complete(ctx, c.DB()))
				require.ErrorIs(c, s.Complete(ctx, c.DB()), store.ErrAlreadyCompleted)
				n, err := s.Prune(c.ctx, c.DB(), farFuture)
				require.NoError(c, err)
				require.Equal(c, int64(2), n)
			},
		},
		{
			Name: "schema/tables-are-separate",
			Rule: "Two stores on different tables never see each other's markers.",
			Check: func(c *C) {
				a, b := c.NewStore(), c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, a.Complete(ctx, c.DB()))
				done, err := b.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.False(c, done)
				require.NoError(c, b.Fail(ctx, c.DB(), nil))
			},
		},
		{
			Name: "schema/times-from-database-clock",
			Rule: "Outcome times come from the database clock in UTC and grow with commit order.",
			Check: func(c *C) {
				s := c.NewStore()
				first, second := c.RunContext("run-1"), c.RunContext("run-2")
				require.NoError(c, s.Complete(first, c.DB()))
				require.NoError(c, s.Complete(second, c.DB()))
				o1, err := s.Outcome(first, c.DB())
				require.NoError(c, err)
				o2, err := s.Outcome(second, c.DB())
				require.NoError(c, err)
				require.Equal(c, "UTC", o1.At.Location().String())
				require.False(c, o2.At.Before(o1.At), "second outcome at %v is before first at %v", o2.At, o1.At)
			},
		},
	}
}
