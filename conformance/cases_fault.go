package conformance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

func faultCases() []Case {
	return []Case{
		{
			Name: "fault/lost-commit-reply",
			Rule: "When the COMMIT reply is lost the handler sees a retryable error, and the redelivery gets ErrAlreadyCompleted; one business row.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s, b := c.NewStore(), c.NewBusiness()
				ctx := c.RunContext("run-1")
				faults.LoseNextCommitReply()
				err := deliver(ctx, db, s, b, "run-1")
				require.Error(c, err, "the driver never saw the COMMIT reply")
				require.True(c, store.IsRetryable(err), "error %v must be retryable", err)
				require.Equal(c, 1, b.Count("run-1"), "the commit happened")

				require.Equal(c, store.ErrAlreadyCompleted, redeliver(c, db, s, b, "run-1"))
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fault/canceled-during-commit",
			Rule: "A context canceled while COMMIT is in flight may leave the handler with an error although the server committed; the redelivery gets ErrAlreadyCompleted; one business row.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s, b := c.NewStore(), c.NewBusiness()
				ctx, cancel := context.WithCancel(c.RunContext("run-1"))
				defer cancel()
				faults.DelayNextCommitReply(500 * time.Millisecond)
				tx, err := db.BeginTx(ctx, nil)
				require.NoError(c, err)
				require.NoError(c, b.Insert(ctx, tx, "run-1"))
				require.NoError(c, s.Complete(ctx, tx))
				timer := time.AfterFunc(100*time.Millisecond, cancel)
				defer timer.Stop()
				err = tx.Commit()
				c.Logf("COMMIT with the context canceled in flight returned %v", err)

				require.Equal(c, store.ErrAlreadyCompleted, redeliver(c, db, s, b, "run-1"))
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fault/killed-before-commit",
			Rule: "A connection killed before COMMIT reaches the server commits nothing, the error is retryable, and the retry completes once.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s, b := c.NewStore(), c.NewBusiness()
				ctx := c.RunContext("run-1")
				faults.KillNextCommit()
				err := deliver(ctx, db, s, b, "run-1")
				require.Error(c, err)
				require.True(c, store.IsRetryable(err), "error %v must be retryable", err)
				require.Zero(c, b.Count("run-1"), "nothing committed")
				done, err := s.IsCompleted(ctx, c.DB())
				require.NoError(c, err)
				require.False(c, done)

				require.NoError(c, redeliver(c, db, s, b, "run-1"))
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fault/killed-mid-transaction",
			Rule: "A connection killed inside the handler makes Complete return a retryable error; the retry completes once and the pool keeps working.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s, b := c.NewStore(), c.NewBusiness()
				ctx := c.RunContext("run-1")
				tx, err := db.BeginTx(ctx, nil)
				require.NoError(c, err)
				require.NoError(c, b.Insert(ctx, tx, "run-1"))
				require.Positive(c, faults.KillConnections())
				err = s.Complete(ctx, tx)
				require.Error(c, err)
				requireErrorPrefix(c, err)
				require.True(c, store.IsRetryable(err), "error %v must be retryable", err)
				_ = tx.Rollback()

				require.NoError(c, redeliver(c, db, s, b, "run-1"))
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fault/slow-replies-complete-once",
			Rule: "With every reply delayed, a handler still completes once and its redelivery gets ErrAlreadyCompleted.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s, b := c.NewStore(), c.NewBusiness()
				faults.DelayReplies(20 * time.Millisecond)
				require.NoError(c, deliver(c.RunContext("run-1"), db, s, b, "run-1"))
				require.Equal(c, store.ErrAlreadyCompleted, deliver(c.RunContext("run-1"), db, s, b, "run-1"))
				require.Equal(c, 1, b.Count("run-1"))
			},
		},
		{
			Name: "fault/context-errors-in-flight",
			Rule: "Every call whose context is canceled or expires while its statement is in flight returns an error matching the context's error, never a bare connection error, or nil when the driver saw the statement finish first.",
			Check: func(c *C) {
				db, faults := c.Faulty()
				s := c.NewStore()
				require.NoError(c, s.Complete(c.RunContext("done"), c.DB()))
				faults.DelayReplies(250 * time.Millisecond)
				for _, op := range operations("step") {
					// A driver may wait for a reply that the server sent
					// before the cancel arrived, and then report success,
					// which is true. Only an error must name the context.
					ctx, cancel := context.WithTimeout(c.RunContext("deadline-"+op.name), 50*time.Millisecond)
					err := op.call(ctx, s, db)
					cancel()
					if err != nil {
						require.ErrorIs(c, err, context.DeadlineExceeded, op.name)
						requireErrorPrefix(c, err)
					} else {
						c.Logf("%s returned nil after its deadline, as the statement had finished", op.name)
					}

					ctx, cancel = context.WithCancel(c.RunContext("cancel-" + op.name))
					timer := time.AfterFunc(50*time.Millisecond, cancel)
					err = op.call(ctx, s, db)
					timer.Stop()
					cancel()
					if err != nil {
						require.ErrorIs(c, err, context.Canceled, op.name)
					}
				}
				faults.DelayReplies(0)
				done, err := s.IsCompleted(c.RunContext("done"), db)
				require.NoError(c, err, "the pool must keep working")
				require.True(c, done)
			},
		},
		{
			Name:  "fault/redelivery-storm",
			Rule:  "Runs delivered up to 10 times each by 16 workers, with faults injected at random, end with exactly one outcome and one business row each.",
			Check: redeliveryStorm,
		},
	}
}

// redeliver delivers runID again on db, as a job runner does after an
// error, retrying while the error is retryable because the pool may hand
// out a connection that the fault already closed.
func redeliver(c *C, db *sql.DB, s *store.Store, b *Business, runID string) error {
	c.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = deliver(c.RunContext(runID), db, s, b, runID)
		if !store.IsRetryable(err) {
			return err
		}
	}
	c.Fatalf("redelivery of %s still failed after 3 attempts: %v", runID, err)
	return err
}

// stormWorkers and stormMaxDeliveries shape the redelivery storm.
const (
	stormWorkers       = 16
	stormMaxDeliveries = 10
	stormFaultRate     = 0.03 // per fault opportunity
	stormDuplicateRate = 0.3  // chance that a delivered run is delivered again
)

// stormDelivery is one delivery of one run.
type stormDelivery struct {
	run, attempt int
}

// stormTally counts what the storm's deliveries returned.
type stormTally struct {
	mu          sync.Mutex
	deliveries  int
	committed   int // deliveries whose commit the handler saw succeed
	suppressed  int // deliveries that got ErrAlreadyCompleted
	errors      int // deliveries that failed and were delivered again
	abandoned   int // runs whose last delivery still failed
	errorKinds  map[string]int
	unretryable []error
}

// redeliveryStorm plays a job runner under faults: every run is delivered
// until a delivery succeeds or finds the run completed, and a seeded
// share of runs is delivered again after success, as after a crash before
// the runner recorded it.
func redeliveryStorm(c *C) {
	runs, seed := c.run.cfg.stormRuns(), c.run.cfg.seed()
	db, faults := c.Faulty()
	db.SetMaxOpenConns(stormWorkers)
	s, b := c.NewStore(), c.NewBusiness()
	faults.InjectRandom(seed, stormFaultRate)

	queue := make(chan stormDelivery, runs*stormMaxDeliveries)
	for i := 0; i < runs; i++ {
		queue <- stormDelivery{run: i, attempt: 1}
	}
	var open sync.WaitGroup
	open.Add(runs)
	go func() {
		open.Wait()
		close(queue)
	}()

	tally := &stormTally{errorKinds: map[string]int{}}
	var workers sync.WaitGroup
	for w := 0; w < stormWorkers; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for d := range queue {
				again := tally.deliver(c, db, s, b, d, seed)
				if again && d.attempt < stormMaxDeliveries {
					queue <- stormDelivery{run: d.run, attempt: d.attempt + 1}
					continue
				}
				open.Done()
			}
		}()
	}
	workers.Wait()
	faults.InjectRandom(seed, 0)
	injected := faults.Counts()

	lost, doubled := countStormDamage(c, s, b, runs)
	faultTotal := 0
	for _, n := range injected {
		faultTotal += n
	}
	c.Logf("storm: %d runs, seed %d, %d deliveries, %d faults injected %v, %d commits acknowledged, %d duplicates suppressed, %d delivery errors %v, %d abandoned, lost: %d, doubled: %d",
		runs, seed, tally.deliveries, faultTotal, formatCounts(injected), tally.committed, tally.suppressed,
		tally.errors, formatCounts(tally.errorKinds), tally.abandoned, lost, doubled)
	for _, err := range tally.unretryable {
		c.Errorf("delivery error that is not retryable: %v", err)
	}
	require.Zero(c, lost, "runs without a completed outcome")
	require.Zero(c, doubled, "runs with more than one business row")
	require.Positive(c, faultTotal, "the storm injected no fault")
}

// deliver runs one storm delivery and reports whether the run is to be
// delivered again.
func (t *stormTally) deliver(c *C, db *sql.DB, s *store.Store, b *Business, d stormDelivery, seed uint64) bool {
	runID := "storm-" + strconv.Itoa(d.run)
	err := deliver(store.WithRun(c.ctx, runID, "storm"), db, s, b, runID)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deliveries++
	switch {
	case err == nil:
		t.committed++
	case err == store.ErrAlreadyCompleted:
		t.suppressed++
	default:
		t.errors++
		t.errorKinds[errorKind(err)]++
		if !store.IsRetryable(err) && c.ctx.Err() == nil {
			t.unretryable = append(t.unretryable, err)
		}
		if d.attempt == stormMaxDeliveries {
			t.abandoned++
		}
		return true
	}
	// A seeded draw per run and attempt decides whether the runner
	// crashed before recording this delivery, so it delivers the run again.
	draw := rand.New(rand.NewPCG(seed, uint64(d.run)<<8|uint64(d.attempt))).Float64()
	return draw < stormDuplicateRate
}

// countStormDamage returns how many runs have no completed outcome or no
// business row, and how many have more than one business row.
func countStormDamage(c *C, s *store.Store, b *Business, runs int) (lost, doubled int) {
	rowsPerRun := map[string]int{}
	rows, err := c.DB().QueryContext(c.ctx, "SELECT run_id, COUNT(*) FROM "+b.name+" GROUP BY run_id")
	require.NoError(c, err)
	defer rows.Close()
	for rows.Next() {
		var runID string
		var n int
		require.NoError(c, rows.Scan(&runID, &n))
		rowsPerRun[runID] = n
	}
	require.NoError(c, rows.Err())

	for i := 0; i < runs; i++ {
		runID := "storm-" + strconv.Itoa(i)
		done, err := s.IsCompleted(store.WithRun(c.ctx, runID, ""), c.DB())
		require.NoError(c, err)
		switch {
		case !done || rowsPerRun[runID] == 0:
			lost++
		case rowsPerRun[runID] > 1:
			doubled++
		}
	}
	return lost, doubled
}

// errorKind returns a short class of a delivery error for the storm's
// report.
func errorKind(err error) string {
	var storeErr *store.Error
	if errors.As(err, &storeErr) {
		return storeErr.Op + ": " + storeErr.Class.String()
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

func formatCounts(counts map[string]int) string {
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
