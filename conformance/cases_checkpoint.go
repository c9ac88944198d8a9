package conformance

import (
	"bytes"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

// roundTrip checkpoints data under step for a new run and returns what
// IsCheckpointed reads back.
func roundTrip(c *C, s *store.Store, step string, data []byte) []byte {
	c.Helper()
	ctx := c.RunContext("round-trip-" + step)
	tx := c.Begin(nil)
	require.NoError(c, s.Checkpoint(ctx, tx, step, data))
	c.requireCommitted(tx)
	ok, got, err := s.IsCheckpointed(ctx, c.DB(), step)
	require.NoError(c, err)
	require.True(c, ok)
	return got
}

func checkpointCases() []Case {
	return []Case{
		{
			Name: "checkpoint/records-and-reads-back",
			Rule: "A committed checkpoint reads back with its data.",
			Check: func(c *C) {
				got := roundTrip(c, c.NewStore(), "charge", []byte(`{"charge_id":"ch_1"}`))
				require.Equal(c, []byte(`{"charge_id":"ch_1"}`), got)
			},
		},
		{
			Name: "checkpoint/unknown-step-reads-false",
			Rule: "IsCheckpointed of a step without a checkpoint returns false, nil data and no error.",
			Check: func(c *C) {
				s := c.NewStore()
				ok, data, err := s.IsCheckpointed(c.RunContext("run-1"), c.DB(), "missing")
				require.NoError(c, err)
				require.False(c, ok)
				require.Nil(c, data)
			},
		},
		{
			Name: "checkpoint/second-returns-sentinel",
			Rule: "A second checkpoint of a step returns ErrAlreadyCheckpointed and never overwrites the stored data.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Checkpoint(ctx, c.DB(), "charge", []byte("first")))
				tx := c.Begin(nil)
				err := s.Checkpoint(ctx, tx, "charge", []byte("second"))
				require.ErrorIs(c, err, store.ErrAlreadyCheckpointed)
				require.Equal(c, store.ErrAlreadyCheckpointed, err)
				c.requireCommitted(tx)
				_, data, err := s.IsCheckpointed(ctx, c.DB(), "charge")
				require.NoError(c, err)
				require.Equal(c, []byte("first"), data)
			},
		},
		{
			Name: "checkpoint/sentinel-keeps-transaction-usable",
			Rule: "After ErrAlreadyCheckpointed the transaction accepts more statements and commits them.",
			Check: func(c *C) {
				s := c.NewStore()
				b := c.NewBusiness()
				ctx := c.RunContext("run-1")
				require.NoError(c, s.Checkpoint(ctx, c.DB(), "charge", nil))
				tx := c.Begin(nil)
				require.ErrorIs(c, s.Checkpoint(ctx, tx, "charge", nil), store.ErrAlreadyCheckpointed)
				require.NoError(c, b.Insert(ctx, tx, "run-1"))
				require.NoError(c, s.Complete(ctx, tx))
				c.requireCommitted(tx)
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "checkpoint/binary-data-round-trip",
			Rule: "Every byte value, NUL and 0xff included, reads back byte-identical.",
			Check: func(c *C) {
				data := make([]byte, 0, 512)
				for i := 0; i < 512; i++ {
					data = append(data, byte(i))
				}
				require.Equal(c, data, roundTrip(c, c.NewStore(), "binary", data))
			},
		},
		{
			Name: "checkpoint/invalid-utf8-round-trip",
			Rule: "Data that is not valid UTF-8 reads back byte-identical.",
			Check: func(c *C) {
				data := []byte("\xc3\x28 \xa0\xa1 \xe2\x82 \xf0\x28\x8c\x28 \xed\xa0\x80 \x00")
				require.Equal(c, data, roundTrip(c, c.NewStore(), "invalid-utf8", data))
			},
		},
		{
			Name: "checkpoint/nil-reads-back-nil",
			Rule: "A nil checkpoint reads back as nil.",
			Check: func(c *C) {
				got := roundTrip(c, c.NewStore(), "nil", nil)
				require.Nil(c, got)
			},
		},
		{
			Name: "checkpoint/empty-reads-back-empty",
			Rule: "An empty non-nil checkpoint reads back empty and non-nil.",
			Check: func(c *C) {
				got := roundTrip(c, c.NewStore(), "empty", []byte{})
				require.NotNil(c, got)
				require.Empty(c, got)
			},
		},
		{
			Name:     "checkpoint/default-limit-round-trip",
			Rule:     "Data of exactly the default size limit (16 MiB) reads back byte-identical.",
			Requires: dataSize(store.DefaultMaxDataSize),
			Check: func(c *C) {
				data := bytes.Repeat([]byte{0x00, 0xff, 'a', 0x80}, store.DefaultMaxDataSize/4)
				require.Len(c, data, store.DefaultMaxDataSize)
				got := roundTrip(c, c.NewStore(), "large", data)
				require.Len(c, got, len(data))
				require.True(c, bytes.Equal(data, got), "16 MiB of data must read back byte-identical")
			},
		},
		{
			Name: "checkpoint/over-limit-rejected-before-sql",
			Rule: "Data one byte over the limit is rejected with ErrInvalid before any SQL is sent, and the transaction commits.",
			Check: func(c *C) {
				s := c.NewStore(store.WithMaxDataSize(1024))
				b := c.NewBusiness()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, b.Insert(ctx, tx, "run-1"))
				counter := &countingQuerier{q: tx}
				err := s.Checkpoint(ctx, counter, "big", make([]byte, 1025))
				require.ErrorIs(c, err, store.ErrInvalid)
				require.EqualError(c, err, `dureq: invalid checkpoint data for step "big": is 1025 bytes, over the maximum of 1024 bytes; store less or raise the limit with WithMaxDataSize`)
				require.Zero(c, counter.n.Load(), "statements sent")
				require.NoError(c, s.Checkpoint(ctx, tx, "fits", make([]byte, 1024)))
				c.requireCommitted(tx)
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "checkpoint/independent-of-outcome",
			Rule: "Checkpoints and the outcome of one run never collide, before or after the outcome.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Checkpoint(ctx, tx, "before", []byte("1")))
				require.NoError(c, s.Complete(ctx, tx))
				require.NoError(c, s.Checkpoint(ctx, tx, "after", []byte("2")))
				c.requireCommitted(tx)
				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.True(c, done)
				ok, data, err := s.IsCheckpointed(ctx, c.DB(), "after")
				require.NoError(c, err)
				require.True(c, ok)
				require.Equal(c, []byte("2"), data)
			},
		},
		{
			Name: "checkpoint/steps-belong-to-runs",
			Rule: "The same step name checkpoints independently in different runs.",
			Check: func(c *C) {
				s := c.NewStore()
				require.NoError(c, s.Checkpoint(c.RunContext("run-1"), c.DB(), "charge", []byte("a")))
				require.NoError(c, s.Checkpoint(c.RunContext("run-2"), c.DB(), "charge", []byte("b")))
				_, data, err := s.IsCheckpointed(c.RunContext("run-2"), c.DB(), "charge")
				require.NoError(c, err)
				require.Equal(c, []byte("b"), data)
			},
		},
		{
			Name: "checkpoint/rollback-records-nothing",
			Rule: "A rolled-back checkpoint leaves the step without one.",
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("run-1")
				tx := c.Begin(nil)
				require.NoError(c, s.Checkpoint(ctx, tx, "charge", []byte("x")))
				require.NoError(c, tx.Rollback())
				ok, data, err := s.IsCheckpointed(ctx, c.DB(), "charge")
				require.NoError(c, err)
				require.False(c, ok)
				require.Nil(c, data)
			},
		},
	}
}
