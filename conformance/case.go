package conformance

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"time"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// Case is one rule of the contract, checked against a live database.
type Case struct {
	// Name is the group and the rule, such as "complete/records-outcome".
	Name string
	// Rule is one sentence that states what the case checks.
	Rule string
	// Requires returns why the case cannot run with capabilities caps, or
	// "" when it can.
	Requires func(caps dialect.Capabilities) string
	// Check runs the case.
	Check func(c *C)
}

// C is the state of one running case. It implements the interfaces of
// testify's assert and require packages, so cases assert with them. Errorf
// marks the case failed, FailNow and Fatalf also end it, and Skipf ends it
// as skipped. Its methods are safe for concurrent use, but FailNow, Fatalf
// and Skipf must be called from the case's own goroutine.
type C struct {
	ctx  context.Context
	run  *driverRun
	name string

	mu       sync.Mutex
	failed   bool
	skipped  bool
	messages []string
	cleanups []func()
}

// Context returns the case's context, which is canceled when the case times
// out or the run is interrupted.
func (c *C) Context() context.Context { return c.ctx }

// DB returns the database handle of the driver under test.
func (c *C) DB() *sql.DB { return c.run.db }

// Driver returns the name of the driver under test.
func (c *C) Driver() string { return c.run.driver }

// Dialect returns the dialect under test.
func (c *C) Dialect() dialect.Dialect { return c.run.cfg.Dialect }

// Capabilities returns the capabilities the dialect declared.
func (c *C) Capabilities() dialect.Capabilities { return c.run.caps }

// Name returns the case's name.
func (c *C) Name() string { return c.name }

// Errorf records a failure and lets the case go on.
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	c.messages = append(c.messages, withoutTrace(fmt.Sprintf(format, args...)))
}

// withoutTrace removes the "Error Trace" and "Test" blocks from a testify
// failure message, because the file paths of the suite's own source mean
// nothing in a report, and trims the surrounding blank space. Other
// messages come back trimmed.
func withoutTrace(msg string) string {
	var lines []string
	skipping := false
	for _, line := range strings.Split(msg, "\n") {
		label := strings.TrimSpace(line)
		isContinuation := strings.HasPrefix(line, "\t ") && !strings.Contains(label, ":\t")
		switch {
		case strings.HasPrefix(label, "Error Trace:"), strings.HasPrefix(label, "Test:"):
			skipping = true
			continue
		case skipping && isContinuation:
			continue
		}
		skipping = false
		lines = append(lines, line)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Logf records a message that is shown when the case fails.
func (c *C) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages = append(c.messages, fmt.Sprintf(format, args...))
}

// FailNow marks the case failed and ends it.
func (c *C) FailNow() {
	c.mu.Lock()
	c.failed = true
	c.mu.Unlock()
	runtime.Goexit()
}

// Fatalf records a failure and ends the case.
func (c *C) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	c.FailNow()
}

// Skipf records why the case cannot run and ends it as skipped.
func (c *C) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = true
	c.messages = append(c.messages, fmt.Sprintf(format, args...))
	c.mu.Unlock()
	runtime.Goexit()
}

// Helper does nothing; it lets testify find C's helper marker.
func (c *C) Helper() {}

// Cleanup registers f to run when the case ends, after cleanups registered
// later.
func (c *C) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// Namespace returns the schema the run works in, or "" for a dialect
// without schemas.
func (c *C) Namespace() string { return c.run.namespace }

// NewTable returns the location of a table that does not exist yet, in the
// run's namespace.
func (c *C) NewTable() dialect.Table {
	n := c.run.tables.Add(1)
	t := dialect.Table{Schema: c.run.namespace, Name: c.run.tablePrefix + strconv.FormatInt(n, 10)}
	if t.Schema == "" {
		c.run.mu.Lock()
		c.run.created = append(c.run.created, c.qualified(t))
		c.run.mu.Unlock()
	}
	return t
}

// NewStore returns a store on a new table in the run's namespace, with the
// table created. opts come after the table options, so they may replace
// them.
func (c *C) NewStore(opts ...store.Option) *store.Store {
	t := c.NewTable()
	all := []store.Option{store.WithTable(t.Name)}
	if t.Schema != "" {
		all = append(all, store.WithSchema(t.Schema))
	}
	s, err := store.New(c.Dialect(), append(all, opts...)...)
	if err != nil {
		c.Fatalf("build store: %v", err)
	}
	if err := s.EnsureTable(c.ctx, c.DB()); err != nil {
		c.Fatalf("create table: %v", err)
	}
	return s
}

// qualified returns the quoted name of t.
func (c *C) qualified(t dialect.Table) string {
	return dialect.QualifiedName(c.Dialect(), t)
}

// result is the status and messages of one finished case.
type result struct {
	status   Status
	messages []string
}

// runCase runs tc in a goroutine of its own, so that FailNow and Skipf can
// end it with runtime.Goexit, and turns a panic into a failure.
func (r *driverRun) runCase(ctx context.Context, tc Case) result {
	if tc.Requires != nil {
		if reason := tc.Requires(r.caps); reason != "" {
			return result{status: StatusSkip, messages: []string{reason}}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.caseTimeout())
	defer cancel()
	c := &C{ctx: ctx, run: r, name: tc.Name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.runCleanups()
		defer func() {
			if v := recover(); v != nil {
				c.Errorf("panic: %v\n%s", v, debug.Stack())
			}
		}()
		tc.Check(c)
	}()
	<-done

	c.mu.Lock()
	defer c.mu.Unlock()
	res := result{status: StatusPass, messages: c.messages}
	switch {
	case c.failed:
		res.status = StatusFail
	case c.skipped:
		res.status = StatusSkip
	}
	return res
}

func (c *C) runCleanups() {
	for {
		c.mu.Lock()
		n := len(c.cleanups)
		if n == 0 {
			c.mu.Unlock()
			return
		}
		f := c.cleanups[n-1]
		c.cleanups = c.cleanups[:n-1]
		c.mu.Unlock()
		func() {
			defer func() {
				if v := recover(); v != nil {
					c.Errorf("panic in cleanup: %v", v)
				}
			}()
			f()
		}()
	}
}

// defaultCaseTimeout bounds one case, so that a hung statement fails the
// case instead of the run.
const defaultCaseTimeout = 2 * time.Minute
