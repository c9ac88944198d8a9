package conformance

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dureqsql/completion/dialect"
)

// Driver opens databases through one database/sql driver.
type Driver struct {
	// Name is the driver's short name, such as "pgx" or "pq".
	Name string
	// Open returns a new handle to the database under test. The suite
	// closes it at the end of the driver's run.
	Open func(ctx context.Context) (*sql.DB, error)
	// OpenFaulty returns a new handle to the database under test whose
	// connections pass through a fault injector, and the injector. The
	// suite closes both at the end of each fault case. When it is nil, the
	// fault cases are skipped.
	OpenFaulty func(ctx context.Context) (*sql.DB, Faults, error)
}

// ErrFaultsUnavailable is matched by an error of Driver.OpenFaulty that
// means fault injection cannot work for this database, for example because
// the connection must be encrypted and the injector cannot read it. The
// fault cases are then skipped with the error as the reason.
var ErrFaultsUnavailable = errors.New("dureq: fault injection unavailable")

// Faults injects network faults between a driver and the database, for
// example through a proxy. Its methods must be safe for concurrent use.
type Faults interface {
	// KillNextCommit closes the connection that sends the next COMMIT
	// before the database receives it.
	KillNextCommit()
	// LoseNextCommitReply lets the next COMMIT reach the database and
	// closes the connection before the reply reaches the driver.
	LoseNextCommitReply()
	// DelayNextCommitReply holds the reply to the next COMMIT for d.
	DelayNextCommitReply(d time.Duration)
	// DelayReplies holds the end of every reply for d; zero stops it.
	DelayReplies(d time.Duration)
	// KillConnections closes every open connection now and returns how
	// many it closed.
	KillConnections() int
	// InjectRandom kills connections before a COMMIT, loses COMMIT
	// replies, and kills connections mid-transaction, each with
	// probability rate per opportunity, drawn from a generator seeded
	// with seed. Rate 0 stops it.
	InjectRandom(seed uint64, rate float64)
	// Counts returns how many faults of each kind were injected.
	Counts() map[string]int
	// Close stops the injector and closes its connections.
	Close() error
}

// Config is the dialect, drivers and options of one run of the suite.
type Config struct {
	// Dialect is the dialect under test.
	Dialect dialect.Dialect
	// Capabilities replaces the dialect's declared capabilities when it is
	// not nil.
	Capabilities *dialect.Capabilities
	// Drivers are the drivers to run every case with, in order.
	Drivers []Driver
	// Match selects cases by name; nil selects every case.
	Match func(name string) bool
	// Progress, when not nil, is called with each result as its case ends.
	Progress func(Result)
	// CaseTimeout bounds each case; zero means 2 minutes.
	CaseTimeout time.Duration
	// StormRuns is the number of runs the redelivery storm delivers; zero
	// means DefaultStormRuns.
	StormRuns int
	// Seed seeds the storm's random faults and deliveries; zero means 1.
	Seed uint64
}

// DefaultStormRuns is the size of the redelivery storm unless
// Config.StormRuns sets another. FullStormRuns is the full size.
const (
	DefaultStormRuns = 200
	FullStormRuns    = 1000
)

func (cfg Config) stormRuns() int {
	if cfg.StormRuns > 0 {
		return cfg.StormRuns
	}
	return DefaultStormRuns
}

func (cfg Config) seed() uint64 {
	if cfg.Seed != 0 {
		return cfg.Seed
	}
	return 1
}

func (cfg Config) caseTimeout() time.Duration {
	if cfg.CaseTimeout > 0 {
		return cfg.CaseTimeout
	}
	return defaultCaseTimeout
}

// Status is the way a case ended: passed, failed or skipped.
type Status string

// The ways a case ends.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Result is the outcome of one case with one driver.
type Result struct {
	Driver   string        `json:"driver"`
	Case     string        `json:"case"`
	Status   Status        `json:"status"`
	Duration time.Duration `json:"duration_ns"`
	// Messages are the failures and logs of a failed case, or the reason
	// for a skip.
	Messages []string `json:"messages,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	Results []Result
}

// Counts returns how many cases of driver passed, failed and were skipped.
func (r *Report) Counts(driver string) (passed, failed, skipped int) {
	for _, res := range r.Results {
		if res.Driver != driver {
			continue
		}
		switch res.Status {
		case StatusPass:
			passed++
		case StatusFail:
			failed++
		case StatusSkip:
			skipped++
		}
	}
	return passed, failed, skipped
}

// Failed reports whether any case failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res Result) bool { return res.Status == StatusFail })
}

// SetupError is returned by Run when the suite could not open a driver's
// database or create its namespace, so no case ran with that driver.
type SetupError struct {
	Driver string
	Err    error
}

func (e *SetupError) Error() string {
	return "dureq: conformance setup for driver " + e.Driver + ": " + e.Err.Error()
}

func (e *SetupError) Unwrap() error { return e.Err }

// Cases returns every case of the suite, in the order they run.
func Cases() []Case {
	var all []Case
	for _, group := range [][]Case{
		completeCases(), failCases(), checkpointCases(), validateCases(),
		schemaCases(), raceCases(), errorCases(), pruneCases(), faultCases(),
	} {
		all = append(all, group...)
	}
	return all
}

// driverRun is the state shared by the cases of one driver.
type driverRun struct {
	cfg       Config
	caps      dialect.Capabilities
	driver    string
	drv       Driver
	db        *sql.DB
	namespace string
	// tablePrefix starts every table name: "t" in a namespace of the run's
	// own, else a random prefix, so that runs on one database never share
	// a table.
	tablePrefix string
	tables      atomic.Int64

	// created lists the tables of a run without a namespace, which the
	// run drops one by one at its end.
	mu      sync.Mutex
	created []string
}

// Run runs the selected cases with each driver in turn and returns their
// results. It returns a *SetupError, with the results so far, when a
// driver's database cannot be opened or prepared. It returns the context's
// error when ctx is canceled. In both cases it has dropped what it created.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	report := &Report{}
	for _, drv := range cfg.Drivers {
		err := runDriver(ctx, cfg, drv, func(res Result) {
			report.Results = append(report.Results, res)
			if cfg.Progress != nil {
				cfg.Progress(res)
			}
		})
		if err != nil {
			return report, err
		}
	}
	return report, nil
}

func (cfg Config) check() error {
	if cfg.Dialect == nil {
		return errors.New("dureq: conformance config has no dialect; set Config.Dialect")
	}
	if len(cfg.Drivers) == 0 {
		return errors.New("dureq: conformance config has no drivers; set Config.Drivers")
	}
	for _, d := range cfg.Drivers {
		if d.Name == "" || d.Open == nil {
			return fmt.Errorf("dureq: conformance driver %q has no name or no Open function", d.Name)
		}
	}
	return nil
}

// runDriver runs the selected cases with one driver and calls report with
// each result.
func runDriver(ctx context.Context, cfg Config, drv Driver, report func(Result)) error {
	r, cleanup, err := setupDriver(ctx, cfg, drv)
	if err != nil {
		return err
	}
	defer cleanup()
	for _, tc := range Cases() {
		if cfg.Match != nil && !cfg.Match(tc.Name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		res := r.runCase(ctx, tc)
		report(Result{Driver: drv.Name, Case: tc.Name, Status: res.status, Duration: time.Since(start), Messages: res.messages})
	}
	return ctx.Err()
}

// setupDriver opens the driver's database and creates the run's namespace.
// The returned cleanup drops the namespace, even after ctx is canceled, and
// closes the database.
func setupDriver(ctx context.Context, cfg Config, drv Driver) (*driverRun, func(), error) {
	caps := cfg.Dialect.Capabilities()
	if cfg.Capabilities != nil {
		caps = *cfg.Capabilities
	}

	db, err := drv.Open(ctx)
	if err != nil {
		return nil, nil, &SetupError{Driver: drv.Name, Err: fmt.Errorf("open database: %w", err)}
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, &SetupError{Driver: drv.Name, Err: fmt.Errorf("connect: %w", err)}
	}

	r := &driverRun{cfg: cfg, caps: caps, driver: drv.Name, drv: drv, db: db, tablePrefix: "t"}
	ns, ok := cfg.Dialect.(dialect.Namespacer)
	if !ok || !caps.Schemas {
		r.tablePrefix = randomName("dureq_conformance_") + "_t"
		return r, func() {
			r.dropCreatedTables(ctx)
			db.Close()
		}, nil
	}

	r.namespace = randomName("dureq_conformance_")
	if err := ns.CreateNamespace(ctx, db, r.namespace); err != nil {
		db.Close()
		return nil, nil, &SetupError{Driver: drv.Name, Err: fmt.Errorf("create schema %s: %w", r.namespace, err)}
	}
	cleanup := func() {
		// The drop must run after an interrupt too, so it gets a context
		// of its own.
		dropCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := ns.DropNamespace(dropCtx, db, r.namespace); err != nil {
			fmt.Fprintf(os.Stderr, "dureq: conformance: drop schema %s failed: %v; drop it by hand\n", r.namespace, err)
		}
		db.Close()
	}
	return r, cleanup, nil
}

// dropCreatedTables drops the tables that a run without a namespace
// created, so that the next run on the same database starts empty.
func (r *driverRun) dropCreatedTables(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range r.created {
		if _, err := r.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			fmt.Fprintf(os.Stderr, "dureq: conformance: drop table %s failed: %v; drop it by hand\n", name, err)
		}
	}
	r.created = nil
}

// randomName returns prefix followed by 16 random lowercase hex digits.
func randomName(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// testDeadlineMargin is how long before go test's deadline Test stops, to
// leave time to drop its schema.
const testDeadlineMargin = 15 * time.Second

// Test runs the suite from a go test function: each driver and each case
// becomes a subtest, and a skipped case shows its reason. An interrupt
// (SIGINT or SIGTERM) cancels the running case and drops the run's schema
// before the test ends.
func Test(t *testing.T, cfg Config) {
	t.Helper()
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go test -timeout ends the process with a panic, which skips every
	// cleanup, so the run stops a little before the deadline and drops its
	// schema itself.
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-testDeadlineMargin))
		defer cancel()
	}
	for _, drv := range cfg.Drivers {
		t.Run(drv.Name, func(t *testing.T) {
			r, cleanup, err := setupDriver(ctx, cfg, drv)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			for _, tc := range Cases() {
				if cfg.Match != nil && !cfg.Match(tc.Name) {
					continue
				}
				if ctx.Err() != nil {
					t.Fatalf("interrupted before %s: %v; the remaining cases did not run", tc.Name, ctx.Err())
				}
				t.Run(tc.Name, func(t *testing.T) {
					res := r.runCase(ctx, tc)
					msg := strings.Join(res.messages, "\n")
					switch res.status {
					case StatusFail:
						t.Error(msg)
					case StatusSkip:
						t.Skip(msg)
					}
				})
			}
		})
	}
}
