package postgres_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"maps"
	mathrand "math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// The benchmarks compare a handler's transaction with and without a marker,
// so their results are ratios measured side by side in one run. Each
// creates its own schema and drops it at the end. Run them all with
//
//	DATABASE_URL=... go test -run '^$' -bench . -benchmem ./postgres/
//
// docs/benchmarks.md records the results and the targets.

// openBench opens the test database with driver and the DSN parameters
// params and closes it when b ends.
func openBench(b testing.TB, driver string, params map[string]string) *sql.DB {
	b.Helper()
	u, err := url.Parse(pgtarget.DSN())
	require.NoError(b, err, "the benchmarks need a postgres:// URL")
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	db, err := sql.Open(driver, u.String())
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	require.NoError(b, db.PingContext(context.Background()))
	return db
}

// benchFixture is a schema with a random name that holds an empty marker
// table, and the handles to reach it.
type benchFixture struct {
	admin  *sql.DB // a pgx handle for set-up statements
	schema string
	table  string // the schema-qualified, quoted marker table
}

// newBenchFixture creates the schema and the marker table, and drops the
// schema when b ends.
func newBenchFixture(b testing.TB) *benchFixture {
	b.Helper()
	ctx := context.Background()
	admin := openBench(b, "pgx", nil)
	var id [6]byte
	_, _ = rand.Read(id[:])
	schema := "dureq_bench_" + hex.EncodeToString(id[:])
	require.NoError(b, postgres.Dialect{}.CreateNamespace(ctx, admin, schema))
	b.Cleanup(func() {
		if err := (postgres.Dialect{}).DropNamespace(ctx, admin, schema); err != nil {
			b.Errorf("drop benchmark schema %s: %v", schema, err)
		}
	})
	s, err := postgres.New(store.WithSchema(schema))
	require.NoError(b, err)
	require.NoError(b, s.EnsureTable(ctx, admin))
	return &benchFixture{admin: admin, schema: schema, table: `"` + schema + `"."dureq_completions"`}
}

// open opens the fixture's database with d, at most conns connections and
// a search_path of the fixture's schema, so that the package-level
// functions use its table.
func (f *benchFixture) open(b testing.TB, d driverSetting, conns int) *sql.DB {
	b.Helper()
	params := maps.Clone(d.params)
	if params == nil {
		params = map[string]string{}
	}
	params["search_path"] = f.schema
	db := openBench(b, d.sql, params)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db
}

// exec runs statements on the admin handle and fails b on an error.
func (f *benchFixture) exec(b testing.TB, statements ...string) {
	b.Helper()
	for _, s := range statements {
		_, err := f.admin.ExecContext(context.Background(), s)
		require.NoError(b, err, s)
	}
}

// loadMarkers fills the marker table with rows/2 runs, each with a
// completed outcome and a checkpoint of the step "charge", in one INSERT ...
// SELECT. Run i has the ID runID(i), and created_at grows with i from
// createdAt. VACUUM ANALYZE then leaves the table as autovacuum would, with
// planner statistics and a visibility map.
func (f *benchFixture) loadMarkers(b testing.TB, rows int, createdAt string) []string {
	b.Helper()
	runs := rows / 2
	f.exec(b,
		"TRUNCATE "+f.table,
		"INSERT INTO "+f.table+" (run_id, step, job_id, kind, data, message, created_at)"+
			" SELECT md5(i::text), s.step, 'job-' || i, s.kind, s.data, NULL, "+createdAt+" + i * interval '1 millisecond'"+
			" FROM generate_series(1, "+strconv.Itoa(runs)+") AS i,"+
			" LATERAL (VALUES ('', 'completed', NULL::bytea), ('charge', 'checkpoint', decode(md5(i::text), 'hex'))) AS s (step, kind, data)"+
			" ORDER BY i",
		"VACUUM ANALYZE "+f.table,
	)
	ids := make([]string, runs)
	for i := range ids {
		ids[i] = runID(int64(i + 1))
	}
	return ids
}

// addRecentMarkers adds runs with one completed outcome each, created now,
// under IDs that loadMarkers does not use.
func (f *benchFixture) addRecentMarkers(b testing.TB, runs int) {
	b.Helper()
	f.exec(b, "INSERT INTO "+f.table+" (run_id, step, job_id, kind, created_at)"+
		" SELECT 'recent-' || i, '', 'job-' || i, 'completed', now() FROM generate_series(1, "+strconv.Itoa(runs)+") AS i")
}

// runID returns the run ID of sequence number n: the MD5 of n in decimal,
// as hex, which matches md5(n::text) in SQL. Its 32 hex digits stand for a
// random run ID such as a UUID, which lands anywhere in the primary key.
func runID(n int64) string {
	sum := md5.Sum(strconv.AppendInt(nil, n, 10))
	return hex.EncodeToString(sum[:])
}

// runWorkers calls op b.N times from workers goroutines and fails b on the
// first error. Each call gets its own number from 1 to b.N, plus offset.
// The timer runs only while the workers do.
func runWorkers(b *testing.B, workers int, offset int64, op func(n int64) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	b.ResetTimer()
	for w := range workers {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := op(offset + n); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	require.NoError(b, errors.Join(errs...))
}

// handlerCases are the transactions BenchmarkHandlerTx compares, in the
// order bare, noop, complete that benchInterleaved relies on. Each runs its
// statement after the business INSERT and before COMMIT.
var handlerCases = []struct {
	name string
	run  func(ctx context.Context, tx *sql.Tx, runID string) error
}{
	// bare is the floor: BEGIN, the business INSERT, COMMIT.
	{"bare", func(context.Context, *sql.Tx, string) error { return nil }},
	// noop adds one more round trip, which no marker that returns its
	// result synchronously can avoid.
	{"noop", func(ctx context.Context, tx *sql.Tx, runID string) error {
		_, err := tx.ExecContext(ctx, "SELECT $1::text", runID)
		return err
	}},
	{"complete", func(ctx context.Context, tx *sql.Tx, _ string) error {
		return postgres.CompleteTx(ctx, tx)
	}},
}

const insertCharge = "INSERT INTO charges (id, amount) VALUES ($1, $2)"

// handlerTx returns the handler's transaction of sequence number n: BEGIN,
// the business INSERT, step, COMMIT.
func handlerTx(db *sql.DB, step func(ctx context.Context, tx *sql.Tx, runID string) error) func(n int64) error {
	return func(n int64) error {
		id := runID(n)
		ctx := store.WithRun(context.Background(), id, "job")
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, insertCharge, n, 100); err != nil {
			return err
		}
		if err := step(ctx, tx, id); err != nil {
			return err
		}
		return tx.Commit()
	}
}

// handlerWorkers are the numbers of concurrent workers of BenchmarkHandlerTx.
var handlerWorkers = []int{1, 8}

// BenchmarkHandlerTx measures a handler's whole transaction: bare, with a
// no-op statement, and with CompleteTx, at 1 and 8 concurrent workers.
// ns/op is the wall time divided by the number of transactions, so it is
// the inverse of throughput at any number of workers.
//
// The sub-benchmark interleaved runs the three transactions in turn and
// reports each one's mean latency and the ratios between them. A change of
// the machine's load during the run shifts all three alike, unlike the
// ratio of two sub-benchmarks that ran seconds apart.
func BenchmarkHandlerTx(b *testing.B) {
	for _, d := range driverSettings {
		b.Run(d.name, func(b *testing.B) {
			f := newBenchFixture(b)
			f.exec(b, "CREATE TABLE "+f.schema+".charges (id bigint PRIMARY KEY, amount bigint NOT NULL)")
			// sequence numbers the business rows and the runs across the
			// sub-benchmarks, which share the fixture.
			var sequence atomic.Int64
			for _, c := range handlerCases {
				b.Run(c.name, func(b *testing.B) {
					for _, workers := range handlerWorkers {
						b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
							op := handlerTx(f.open(b, d, workers), c.run)
							warmUp(b, workers, &sequence, op)
							runWorkers(b, workers, reserve(&sequence, b.N), op)
						})
					}
				})
			}
			b.Run("interleaved", func(b *testing.B) {
				for _, workers := range handlerWorkers {
					b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
						benchInterleaved(b, f.open(b, d, workers), workers, &sequence)
					})
				}
			})
		})
	}
}

// benchInterleaved runs the transactions of handlerCases in turn and
// reports the mean latency of each and the ratios of their throughputs.
func benchInterleaved(b *testing.B, db *sql.DB, workers int, sequence *atomic.Int64) {
	ops := make([]func(int64) error, len(handlerCases))
	for i, c := range handlerCases {
		ops[i] = handlerTx(db, c.run)
	}
	elapsed := make([]atomic.Int64, len(ops))
	count := make([]atomic.Int64, len(ops))
	op := func(n int64) error {
		i := n % int64(len(ops))
		start := time.Now()
		err := ops[i](n)
		elapsed[i].Add(int64(time.Since(start)))
		count[i].Add(1)
		return err
	}
	warmUp(b, workers, sequence, op)
	for i := range ops {
		elapsed[i].Store(0)
		count[i].Store(0)
	}
	runWorkers(b, workers, reserve(sequence, b.N), op)

	mean := make([]float64, len(ops)) // nanoseconds per transaction
	for i := range ops {
		if count[i].Load() == 0 {
			return // too few transactions to compare
		}
		mean[i] = float64(elapsed[i].Load()) / float64(count[i].Load())
		b.ReportMetric(mean[i]/1e3, handlerCases[i].name+"-us/tx")
	}
	bare, noop, complete := mean[0], mean[1], mean[2]
	b.ReportMetric(bare/complete, "complete/bare")
	b.ReportMetric(bare/noop, "noop/bare")
	b.ReportMetric((complete-bare)/(noop-bare), "added/noop-added")
}

// warmUp runs two transactions per worker outside the timer, which opens
// the pool's connections and lets pgx prepare its statements.
func warmUp(b *testing.B, workers int, sequence *atomic.Int64, op func(n int64) error) {
	b.Helper()
	count := int64(2 * workers)
	runConcurrently(b, workers, reserve(sequence, int(count)), count, op)
}

// reserve takes n numbers from sequence and returns the one before the
// first, as the offset of runWorkers and runConcurrently.
func reserve(sequence *atomic.Int64, n int) int64 {
	return sequence.Add(int64(n)) - int64(n)
}

// runConcurrently calls op count times from workers goroutines, outside
// the benchmark timer.
func runConcurrently(b *testing.B, workers int, offset, count int64, op func(n int64) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for n := next.Add(1); n <= count; n = next.Add(1) {
				if err := op(offset + n); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
}

// lookupSizes are the table sizes, in rows, of the lookup benchmarks.
var lookupSizes = []int{10_000, 1_000_000}

// benchLookup runs lookup for every table size and driver, on a table of
// that many rows, for a run picked at random each time. The sub-benchmark
// interleaved alternates between the two tables and reports the mean time
// of a lookup in each and their ratio, which a change of the machine's
// load during the run shifts alike.
func benchLookup(b *testing.B, lookup func(ctx context.Context, db *sql.DB) error) {
	fixtures := make([]*benchFixture, len(lookupSizes))
	ids := make([][]string, len(lookupSizes))
	for i, rows := range lookupSizes {
		fixtures[i] = newBenchFixture(b)
		ids[i] = fixtures[i].loadMarkers(b, rows, "now() - interval '1 day'")
	}
	for i, rows := range lookupSizes {
		b.Run("rows="+strconv.Itoa(rows), func(b *testing.B) {
			for _, d := range driverSettings {
				b.Run(d.name, func(b *testing.B) {
					db := fixtures[i].open(b, d, 1)
					random := mathrand.New(mathrand.NewPCG(1, 2))
					for b.Loop() {
						ctx := store.WithRun(context.Background(), ids[i][random.IntN(len(ids[i]))], "")
						if err := lookup(ctx, db); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		for _, d := range driverSettings {
			b.Run(d.name, func(b *testing.B) {
				dbs := make([]*sql.DB, len(fixtures))
				for i, f := range fixtures {
					dbs[i] = f.open(b, d, 1)
				}
				random := mathrand.New(mathrand.NewPCG(1, 2))
				elapsed := make([]time.Duration, len(fixtures))
				count := make([]int, len(fixtures))
				for n := 0; b.Loop(); n++ {
					i := n % len(fixtures)
					ctx := store.WithRun(context.Background(), ids[i][random.IntN(len(ids[i]))], "")
					start := time.Now()
					if err := lookup(ctx, dbs[i]); err != nil {
						b.Fatal(err)
					}
					elapsed[i] += time.Since(start)
					count[i]++
				}
				perLookup := func(i int) float64 { // microseconds
					return float64(elapsed[i].Microseconds()) / float64(max(count[i], 1))
				}
				small, large := perLookup(0), perLookup(len(fixtures)-1)
				b.ReportMetric(small, "rows="+strconv.Itoa(lookupSizes[0])+"-us")
				b.ReportMetric(large, "rows="+strconv.Itoa(lookupSizes[len(lookupSizes)-1])+"-us")
				b.ReportMetric(large/small, "large/small")
			})
		}
	})
}

// BenchmarkIsCompleted measures IsCompleted of a completed run on a table
// of 10,000 and of 1,000,000 rows.
func BenchmarkIsCompleted(b *testing.B) {
	benchLookup(b, func(ctx context.Context, db *sql.DB) error {
		done, err := postgres.IsCompleted(ctx, db)
		if err == nil && !done {
			err = errors.New("IsCompleted returned false for a completed run")
		}
		return err
	})
}

// BenchmarkIsCheckpointed measures IsCheckpointed of a stored checkpoint on
// a table of 10,000 and of 1,000,000 rows.
func BenchmarkIsCheckpointed(b *testing.B) {
	benchLookup(b, func(ctx context.Context, db *sql.DB) error {
		ok, data, err := postgres.IsCheckpointed(ctx, db, "charge")
		if err == nil && (!ok || len(data) != md5.Size) {
			err = errors.New("IsCheckpointed did not return the stored checkpoint")
		}
		return err
	})
}

// BenchmarkCheckpointTx measures a transaction that stores one checkpoint
// of 1 KiB or 1 MiB of random, so incompressible, data.
func BenchmarkCheckpointTx(b *testing.B) {
	for _, d := range driverSettings {
		b.Run(d.name, func(b *testing.B) {
			f := newBenchFixture(b)
			var sequence atomic.Int64
			for _, size := range []struct {
				name  string
				bytes int
			}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
				b.Run("size="+size.name, func(b *testing.B) {
					db := f.open(b, d, 1)
					data := make([]byte, size.bytes)
					_, _ = rand.Read(data)
					op := func(n int64) error {
						ctx := store.WithRun(context.Background(), runID(n), "job")
						tx, err := db.BeginTx(ctx, nil)
						if err != nil {
							return err
						}
						defer tx.Rollback()
						if err := postgres.CheckpointTx(ctx, tx, "charge", data); err != nil {
							return err
						}
						return tx.Commit()
					}
					warmUp(b, 1, &sequence, op)
					b.SetBytes(int64(size.bytes))
					runWorkers(b, 1, reserve(&sequence, b.N), op)
				})
			}
		})
	}
}

// pruneRows is the number of markers BenchmarkPrune deletes per operation,
// from a table that also holds keptRows newer markers.
const (
	pruneRows = 1_000_000
	keptRows  = 10_000
)

// batchTimer is a store.Querier that records the longest ExecContext
// call. Prune runs one ExecContext per batch, so that is its longest batch.
type batchTimer struct {
	*sql.DB
	longest time.Duration
	batches atomic.Int64 // finished batches, read by the concurrent handler
}

func (q *batchTimer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	start := time.Now()
	res, err := q.DB.ExecContext(ctx, query, args...)
	q.longest = max(q.longest, time.Since(start))
	q.batches.Add(1)
	return res, err
}

// BenchmarkPrune measures Prune of 1,000,000 markers older than the cutoff,
// from a table that also holds 10,000 newer ones, and reports its longest
// batch as max-batch-ms. It runs alone, and while a handler completes runs
// in a loop: every other run is one whose markers the running batch
// deletes, the rest are new. The handler's longest CompleteTx call is
// reported as max-complete-ms. Prune blocked it for at most one batch when that is no
// longer than max-batch-ms plus the time of a CompleteTx without Prune.
func BenchmarkPrune(b *testing.B) {
	for _, d := range driverSettings {
		b.Run(d.name, func(b *testing.B) {
			for _, concurrent := range []bool{false, true} {
				name := "alone"
				if concurrent {
					name = "with_complete"
				}
				b.Run(name, func(b *testing.B) {
					benchPrune(b, d, concurrent)
				})
			}
		})
	}
}

func benchPrune(b *testing.B, d driverSetting, concurrent bool) {
	f := newBenchFixture(b)
	db := f.open(b, d, 2)
	s, err := postgres.New(store.WithSchema(f.schema))
	require.NoError(b, err)
	ctx := context.Background()
	cutoff := time.Now().Add(-time.Hour)
	var longestBatch, longestComplete time.Duration
	var batches, completes, retries int

	b.StopTimer()
	for range b.N {
		ids := f.loadMarkers(b, pruneRows, "now() - interval '2 days'")
		f.addRecentMarkers(b, keptRows)
		// The load wrote hundreds of megabytes of WAL. A checkpoint now
		// keeps the one it would trigger out of the measured Prune.
		f.exec(b, "CHECKPOINT")
		timer := &batchTimer{DB: db}
		stop := make(chan struct{})
		handler := make(chan error, 1)
		if concurrent {
			go func() {
				stats, err := completeUntil(stop, db, ids, &timer.batches)
				longestComplete = max(longestComplete, stats.longest)
				completes += stats.calls
				retries += stats.retries
				handler <- err
			}()
		}
		b.StartTimer()
		n, err := s.Prune(ctx, timer, cutoff)
		b.StopTimer()
		close(stop)
		if concurrent {
			require.NoError(b, <-handler)
		}
		require.NoError(b, err)
		require.Equal(b, int64(pruneRows), n)
		longestBatch = max(longestBatch, timer.longest)
		batches += int(timer.batches.Load())
	}

	b.ReportMetric(float64(longestBatch.Microseconds())/1000, "max-batch-ms")
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
	if concurrent {
		b.ReportMetric(float64(longestComplete.Microseconds())/1000, "max-complete-ms")
		b.ReportMetric(float64(completes)/float64(b.N), "completes/op")
		b.ReportMetric(float64(retries)/float64(b.N), "retries/op")
	}
}

// handlerStats is what completeUntil measured.
type handlerStats struct {
	longest time.Duration // the longest CompleteTx call
	calls   int
	retries int // calls that returned an error for which IsRetryable is true
}

// completeUntil completes runs in transactions until stop is closed. Every
// other run is one of ids that the batch after the finished ones deletes,
// so that CompleteTx often meets a marker that Prune holds locked. Such a
// run returns ErrAlreadyCompleted before Prune deletes its outcome and nil
// after. In between, it can return a retryable error, after which a job
// runner retries the whole transaction, so the handler rolls back and goes
// on.
func completeUntil(stop <-chan struct{}, db *sql.DB, ids []string, batches *atomic.Int64) (handlerStats, error) {
	// A batch deletes DefaultPruneBatchSize markers in created_at order,
	// which is two markers per run of ids.
	const runsPerBatch = store.DefaultPruneBatchSize / 2
	random := mathrand.New(mathrand.NewPCG(3, 4))
	var stats handlerStats
	for ; ; stats.calls++ {
		select {
		case <-stop:
			return stats, nil
		default:
		}
		id := "new-" + strconv.Itoa(stats.calls)
		if stats.calls%2 == 0 {
			first := int(batches.Load()) * runsPerBatch
			id = ids[min(first+random.IntN(runsPerBatch), len(ids)-1)]
		}
		ctx := store.WithRun(context.Background(), id, "job")
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return stats, err
		}
		start := time.Now()
		err = postgres.CompleteTx(ctx, tx)
		stats.longest = max(stats.longest, time.Since(start))
		switch {
		case err == nil, errors.Is(err, postgres.ErrAlreadyCompleted):
			if err := tx.Commit(); err != nil {
				return stats, err
			}
		case store.IsRetryable(err):
			tx.Rollback()
			stats.retries++
		default:
			tx.Rollback()
			return stats, err
		}
	}
}
