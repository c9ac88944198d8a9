package conformance

import (
	"strconv"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

// farFuture is a prune cutoff after every marker, within the range of
// every SQL timestamp type.
var farFuture = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)

func pruneCases() []Case {
	return []Case{
		{
			Name: "prune/deletes-older-markers",
			Rule: "Prune deletes the markers created before the cutoff, by the database clock, and keeps the rest.",
			Check: func(c *C) {
				s := c.NewStore()
				old, young := c.RunContext("old"), c.RunContext("young")
				require.NoError(c, s.Complete(old, c.DB()))
				require.NoError(c, s.Checkpoint(old, c.DB(), "step", []byte("x")))
				// The pause lets even a coarse database clock tell the two apart.
				time.Sleep(20 * time.Millisecond)
				require.NoError(c, s.Complete(young, c.DB()))
				o, err := s.Outcome(old, c.DB())
				require.NoError(c, err)
				y, err := s.Outcome(young, c.DB())
				require.NoError(c, err)
				require.True(c, y.At.After(o.At), "young outcome at %v is not after old one at %v", y.At, o.At)

				n, err := s.Prune(c.ctx, c.DB(), y.At)
				require.NoError(c, err)
				require.Equal(c, int64(2), n)
				done, err := s.IsCompleted(old, c.DB())
				require.NoError(c, err)
				require.False(c, done)
				ok, _, err := s.IsCheckpointed(old, c.DB(), "step")
				require.NoError(c, err)
				require.False(c, ok)
				done, err = s.IsCompleted(young, c.DB())
				require.NoError(c, err)
				require.True(c, done)
			},
		},
		{
			Name: "prune/deletes-in-batches",
			Rule: "Prune with a batch size of 3 deletes all 10 old markers and returns 10.",
			Check: func(c *C) {
				s := c.NewStore(store.WithPruneBatchSize(3))
				for i := 0; i < 10; i++ {
					require.NoError(c, s.Complete(c.RunContext("run-"+strconv.Itoa(i)), c.DB()))
				}
				n, err := s.Prune(c.ctx, c.DB(), farFuture)
				require.NoError(c, err)
				require.Equal(c, int64(10), n)
				n, err = s.Prune(c.ctx, c.DB(), farFuture)
				require.NoError(c, err)
				require.Zero(c, n)
			},
		},
		{
			Name: "prune/reopens-run",
			Rule: "A run whose outcome was pruned can complete again, which is why markers must outlive redelivery.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Complete(ctx, c.DB()))
				n, err := s.Prune(c.ctx, c.DB(), farFuture)
				require.NoError(c, err)
				require.Equal(c, int64(1), n)
				require.NoError(c, s.Complete(ctx, c.DB()))
			},
		},
		{
			Name: "prune/keeps-newer-markers",
			Rule: "Prune with a cutoff before every marker deletes nothing and returns 0.",
			Check: func(c *C) {
				s := c.NewStore()
				require.NoError(c, s.Complete(c.RunContext("run-1"), c.DB()))
				n, err := s.Prune(c.ctx, c.DB(), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
				require.NoError(c, err)
				require.Zero(c, n)
				done, err := s.IsCompleted(c.RunContext("run-1"), c.DB())
				require.NoError(c, err)
				require.True(c, done)
			},
		},
	}
}
