package conformance

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

// raceWorkers is how many goroutines race on one run.
const raceWorkers = 16

// maxAttempts bounds the retries of one racing handler.
const maxAttempts = 20

// raceTally counts how the racing handlers ended.
type raceTally struct {
	mu        sync.Mutex
	committed []int   // workers whose transaction committed
	sentinels []error // the errors of workers that found an outcome or checkpoint
	retries   int     // retryable errors seen
	others    []error // any other error, which fails the case
}

// race runs handler in raceWorkers goroutines that start together, each
// retrying on retryable errors. handler must commit tx itself and return
// nil, or return an error after which the transaction is rolled back.
// Every handler first waits on ready so that all transactions are open
// before any writes the marker.
func race(c *C, level sql.IsolationLevel, isSentinel func(error) bool,
	handler func(ctx context.Context, tx *sql.Tx, worker int, ready func()) error) *raceTally {
	tally := &raceTally{}
	var opened sync.WaitGroup
	opened.Add(raceWorkers)
	start := make(chan struct{})
	var done sync.WaitGroup
	for w := 0; w < raceWorkers; w++ {
		done.Add(1)
		go func() {
			defer done.Done()
			first := true
			ready := func() {
				if first {
					first = false
					opened.Done()
					<-start
				}
			}
			for attempt := 1; ; attempt++ {
				err := runTx(c.ctx, c.DB(), level, func(tx *sql.Tx) error { return handler(c.ctx, tx, w, ready) })
				if first {
					ready() // the handler failed before it reached the barrier
				}
				tally.mu.Lock()
				switch {
				case err == nil:
					tally.committed = append(tally.committed, w)
				case isSentinel(err):
					tally.sentinels = append(tally.sentinels, err)
				case store.IsRetryable(err) && attempt < maxAttempts:
					tally.retries++
					tally.mu.Unlock()
					continue
				default:
					tally.others = append(tally.others, err)
				}
				tally.mu.Unlock()
				return
			}
		}()
	}
	opened.Wait()
	close(start)
	done.Wait()
	for _, err := range tally.others {
		c.Errorf("unexpected error: %v", err)
	}
	require.Empty(c, tally.others)
	c.Logf("%d committed, %d sentinels, %d retries", len(tally.committed), len(tally.sentinels), tally.retries)
	return tally
}

// runTx runs f in a transaction at level and commits when f returns nil.
func runTx(ctx context.Context, db *sql.DB, level sql.IsolationLevel, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// raceCompletions races raceWorkers handlers that each write a business
// row and complete the same run at level.
func raceCompletions(c *C, level sql.IsolationLevel) {
	s := c.NewStore()
	b := c.NewBusiness()
	ctx := c.RunContext("contended")
	tally := race(c, level, func(err error) bool { return err == store.ErrAlreadyCompleted },
		func(_ context.Context, tx *sql.Tx, _ int, ready func()) error {
			if err := b.Insert(ctx, tx, "contended"); err != nil {
				return err
			}
			ready()
			return s.Complete(ctx, tx)
		})
	require.Len(c, tally.committed, 1, "exactly one handler commits")
	require.Len(c, tally.sentinels, raceWorkers-1, "every other handler gets ErrAlreadyCompleted")
	require.Equal(c, 1, b.Count("contended"), "business rows")
	done, err := s.IsCompleted(ctx, c.DB())
	require.NoError(c, err)
	require.True(c, done)
}

func raceCases() []Case {
	var cases []Case
	for _, level := range []sql.IsolationLevel{sql.LevelReadCommitted, sql.LevelRepeatableRead, sql.LevelSerializable} {
		cases = append(cases, Case{
			Name:     "race/complete-" + levelName(level),
			Rule:     "16 handlers completing one run at " + level.String() + " commit exactly one outcome and one business row; the rest get ErrAlreadyCompleted, after retries where the error is retryable.",
			Requires: isolation(level),
			Check:    func(c *C) { raceCompletions(c, level) },
		}, Case{
			Name:     "race/fail-against-complete-" + levelName(level),
			Rule:     "8 handlers failing and 8 completing one run at " + level.String() + " record exactly one outcome; each loser gets the sentinel of the winner's kind, never a key violation.",
			Requires: isolation(level),
			Check:    func(c *C) { raceFailAgainstComplete(c, level) },
		})
	}
	return append(cases,
		Case{
			Name:     "race/checkpoint-same-step",
			Rule:     "16 handlers checkpointing one step store exactly one value, the winner's; the rest get ErrAlreadyCheckpointed.",
			Requires: isolation(sql.LevelReadCommitted),
			Check: func(c *C) {
				s := c.NewStore()
				ctx := c.RunContext("contended")
				tally := race(c, sql.LevelReadCommitted, func(err error) bool { return err == store.ErrAlreadyCheckpointed },
					func(_ context.Context, tx *sql.Tx, w int, ready func()) error {
						ready()
						return s.Checkpoint(ctx, tx, "step", []byte(strconv.Itoa(w)))
					})
				require.Len(c, tally.committed, 1)
				require.Len(c, tally.sentinels, raceWorkers-1)
				_, data, err := s.IsCheckpointed(ctx, c.DB(), "step")
				require.NoError(c, err)
				require.Equal(c, strconv.Itoa(tally.committed[0]), string(data))
			},
		},
		Case{
			Name:     "race/loser-wins-after-rollback",
			Rule:     "At READ COMMITTED a second Complete waits for the first transaction and records the outcome when the first rolls back.",
			Requires: needs(isolation(sql.LevelReadCommitted), concurrentWriters),
			Check: func(c *C) {
				require.NoError(c, waitForFirst(c, false))
			},
		},
		Case{
			Name:     "race/loser-sees-commit",
			Rule:     "At READ COMMITTED a second Complete waits for the first transaction and returns ErrAlreadyCompleted when the first commits.",
			Requires: needs(isolation(sql.LevelReadCommitted), concurrentWriters),
			Check: func(c *C) {
				require.Equal(c, store.ErrAlreadyCompleted, waitForFirst(c, true))
			},
		},
	)
}

// raceFailAgainstComplete races handlers that complete one run against
// handlers that fail it, at level.
func raceFailAgainstComplete(c *C, level sql.IsolationLevel) {
	s := c.NewStore()
	ctx := c.RunContext("contended")
	isSentinel := func(err error) bool {
		return err == store.ErrAlreadyCompleted || errors.Is(err, store.ErrAlreadyFailed)
	}
	tally := race(c, level, isSentinel, func(_ context.Context, tx *sql.Tx, w int, ready func()) error {
		ready()
		if w%2 == 0 {
			return s.Complete(ctx, tx)
		}
		return s.Fail(ctx, tx, errors.New("worker "+strconv.Itoa(w)))
	})
	require.Len(c, tally.committed, 1)
	require.Len(c, tally.sentinels, raceWorkers-1)

	winner := tally.committed[0]
	o, err := s.Outcome(ctx, c.DB())
	require.NoError(c, err)
	if winner%2 == 0 {
		require.Equal(c, store.StatusCompleted, o.Status)
		for _, err := range tally.sentinels {
			require.Equal(c, store.ErrAlreadyCompleted, err)
		}
		return
	}
	require.Equal(c, store.StatusFailed, o.Status)
	require.Equal(c, "worker "+strconv.Itoa(winner), o.Message)
	for _, err := range tally.sentinels {
		require.ErrorIs(c, err, store.ErrAlreadyFailed)
		require.EqualError(c, err, `dureq: run "contended" already failed: worker `+strconv.Itoa(winner))
	}
}

// waitForFirst completes one run in a first transaction, starts a second
// Complete of the run that has to wait for it, then commits or rolls back
// the first and returns what the second Complete returned.
func waitForFirst(c *C, commit bool) error {
	s := c.NewStore()
	ctx := c.RunContext("contended")
	first := c.Begin(&sql.TxOptions{Isolation: sql.LevelReadCommitted})
	require.NoError(c, s.Complete(ctx, first))

	second := c.Begin(&sql.TxOptions{Isolation: sql.LevelReadCommitted})
	result := make(chan error, 1)
	go func() { result <- s.Complete(ctx, second) }()
	select {
	case err := <-result:
		c.Fatalf("second Complete returned %v before the first transaction ended; it must wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	if commit {
		require.NoError(c, first.Commit())
	} else {
		require.NoError(c, first.Rollback())
	}
	err := <-result
	c.requireCommitted(second)
	return err
}

func levelName(level sql.IsolationLevel) string {
	switch level {
	case sql.LevelReadCommitted:
		return "read-committed"
	case sql.LevelRepeatableRead:
		return "repeatable-read"
	case sql.LevelSerializable:
		return "serializable"
	}
	return "level-" + strconv.Itoa(int(level))
}
