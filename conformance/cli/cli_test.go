package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/conformance/cli"
	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/internal/dialects"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
)

func TestMain(m *testing.M) {
	os.Exit(pgtarget.RunTests(m))
}

// totalsLine matches the line that ends every report.
var totalsLine = regexp.MustCompile(`^\d+ passed, \d+ failed(, \d+ skipped)?$`)

// testDSN returns the test database, found like the binary finds one.
func testDSN() string { return pgtarget.DSN() }

// testDSNWith returns the test DSN with its URL changed by edit.
func testDSNWith(t *testing.T, edit func(u *url.URL)) string {
	t.Helper()
	u, err := url.Parse(testDSN())
	require.NoError(t, err, "the tests need a postgres:// URL")
	edit(u)
	return u.String()
}

// output is what one run of the binary's logic returned and printed.
type output struct {
	code   int
	stdout string
	stderr string
}

// run runs the binary's logic in this process with cfg and args.
func run(ctx context.Context, t *testing.T, cfg cli.Config, args ...string) output {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, cfg, args, &stdout, &stderr)
	t.Logf("args %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
	return output{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// lastLine returns the last non-empty line of text.
func lastLine(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return lines[len(lines)-1]
}

// closedPort returns a port on 127.0.0.1 that nothing listens on: it
// listens on a free port and closes it again.
func closedPort(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(listener.Addr().(*net.TCPAddr).Port)
	require.NoError(t, listener.Close())
	return port
}

// brokenDialect is the PostgreSQL dialect with faults that tests switch on.
type brokenDialect struct {
	postgres.Dialect
	// overwrite makes InsertMarker overwrite an existing marker, so that a
	// duplicate Complete succeeds where the contract requires
	// ErrAlreadyCompleted.
	overwrite bool
	// serial declares no concurrent writers, so the race cases are skipped.
	serial bool
	// afterCreateNamespace, when not nil, is called with the name of each
	// schema the suite creates.
	afterCreateNamespace func(name string)
	// onStatements, when not nil, is called when a case builds a store.
	onStatements func()
}

func (d brokenDialect) Capabilities() dialect.Capabilities {
	caps := d.Dialect.Capabilities()
	if d.serial {
		caps.ConcurrentWriters = false
	}
	return caps
}

func (d brokenDialect) Statements(t dialect.Table) dialect.Statements {
	if d.onStatements != nil {
		d.onStatements()
	}
	st := d.Dialect.Statements(t)
	if d.overwrite {
		st.InsertMarker.SQL = strings.Replace(st.InsertMarker.SQL, "DO NOTHING",
			"DO UPDATE SET kind = EXCLUDED.kind, data = EXCLUDED.data, message = EXCLUDED.message", 1)
	}
	return st
}

func (d brokenDialect) CreateNamespace(ctx context.Context, db *sql.DB, name string) error {
	err := d.Dialect.CreateNamespace(ctx, db, name)
	if err == nil && d.afterCreateNamespace != nil {
		d.afterCreateNamespace(name)
	}
	return err
}

// withDialect returns the binary's configuration with d in place of the
// PostgreSQL dialect.
func withDialect(d dialect.Dialect) cli.Config {
	cfg := dialects.Postgres()
	cfg.Dialect = d
	return cfg
}

func TestBrokenDialectChangesInsert(t *testing.T) {
	sql := postgres.Dialect{}.Statements(dialect.Table{Name: "t"}).InsertMarker.SQL
	require.Contains(t, sql, "DO NOTHING", "brokenDialect's overwrite no longer changes the statement")
}

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	port := closedPort(t)
	missingDatabase := testDSNWith(t, func(u *url.URL) { u.Path = "/dureq_no_such_database" })

	tests := []struct {
		name       string
		cfg        cli.Config
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		// wantTotals requires the totals line at the end of stdout.
		wantTotals bool
	}{
		{
			name:       "passing cases exit zero",
			cfg:        dialects.Postgres(),
			args:       []string{"-dsn", testDSN(), "-run", "^complete/"},
			wantCode:   cli.ExitPass,
			wantStdout: []string{"PASS pgx complete/records-outcome", "PASS pq  complete/records-outcome", "pgx: ", "pq: "},
			wantTotals: true,
		},
		{
			name:       "unknown dialect exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-dialect", "nope"},
			wantCode:   cli.ExitError,
			wantStderr: []string{`dureq: conformance: unknown dialect "nope" in -dialect; choose one of postgres`},
		},
		{
			name:       "no matching case exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-dsn", testDSN(), "-run", "^no-such-case$"},
			wantCode:   cli.ExitError,
			wantStderr: []string{`dureq: conformance: no case matches -run "^no-such-case$"; run with -list to see the case names`},
		},
		{
			name:       "broken dialect exits one",
			cfg:        withDialect(brokenDialect{overwrite: true}),
			args:       []string{"-dsn", testDSN(), "-run", "^complete/"},
			wantCode:   cli.ExitFail,
			wantStdout: []string{"FAIL pgx complete/after-complete-returns-sentinel", "FAIL pq  complete/"},
			wantTotals: true,
		},
		{
			name:       "unparsable DSN exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-dsn", "postgres://root@127.0.0.1:notaport/test"},
			wantCode:   cli.ExitError,
			wantStderr: []string{"dureq: conformance: invalid -dsn", "Run conformance -h to see the form of a DSN for the postgres dialect."},
		},
		{
			name:     "unreachable host exits two",
			cfg:      dialects.Postgres(),
			args:     []string{"-dsn", "postgres://root@127.0.0.1:" + port + "/test?sslmode=disable"},
			wantCode: cli.ExitError,
			wantStderr: []string{
				"dureq: conformance: driver pgx: cannot connect to 127.0.0.1:" + port,
				"nothing answered there",
				"-dsn URL or DATABASE_URL",
			},
		},
		{
			name:       "missing database exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-dsn", missingDatabase, "-driver", "pq"},
			wantCode:   cli.ExitError,
			wantStderr: []string{`database "dureq_no_such_database" does not exist`, "createdb"},
		},
		{
			name:       "unknown driver exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-driver", "mysql"},
			wantCode:   cli.ExitError,
			wantStderr: []string{`dureq: conformance: unknown driver "mysql"`, "pgx, pq"},
		},
		{
			name:       "invalid run regexp exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-run", "(complete"},
			wantCode:   cli.ExitError,
			wantStderr: []string{"dureq: conformance: invalid -run regular expression", "conformance -h"},
		},
		{
			name:       "unknown flag exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-no-such-flag"},
			wantCode:   cli.ExitError,
			wantStderr: []string{"dureq: conformance: flag provided but not defined: -no-such-flag"},
		},
		{
			name:       "extra argument exits two",
			cfg:        dialects.Postgres(),
			args:       []string{"-list", "complete"},
			wantCode:   cli.ExitError,
			wantStderr: []string{`dureq: conformance: unexpected argument "complete"`},
		},
		{
			name:       "help exits zero",
			cfg:        dialects.Postgres(),
			args:       []string{"-h"},
			wantCode:   cli.ExitPass,
			wantStdout: []string{"Usage: conformance", "-dsn URL", "-driver NAME", "-run REGEXP", "-list", "-json", "-junit FILE", "-v", "Exit status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := run(context.Background(), t, tt.cfg, tt.args...)
			require.Equal(t, tt.wantCode, out.code)
			for _, want := range tt.wantStdout {
				require.Contains(t, out.stdout, want)
			}
			for _, want := range tt.wantStderr {
				require.Contains(t, out.stderr, want)
			}
			if tt.wantTotals {
				require.Regexp(t, totalsLine, lastLine(out.stdout))
			}
		})
	}
}

func TestRunCountsInTotalsLine(t *testing.T) {
	t.Parallel()
	cfg := withDialect(brokenDialect{overwrite: true, serial: true})
	out := run(context.Background(), t, cfg, "-dsn", testDSN(), "-run", "^(complete|race)/")
	require.Equal(t, cli.ExitFail, out.code)

	counts := map[string]int{}
	for line := range strings.SplitSeq(out.stdout, "\n") {
		if status, _, ok := strings.Cut(line, " "); ok && (status == "PASS" || status == "FAIL" || status == "SKIP") {
			counts[status]++
		}
	}
	require.Positive(t, counts["FAIL"], "no case failed")
	require.Positive(t, counts["SKIP"], "no case was skipped")
	want := strconv.Itoa(counts["PASS"]) + " passed, " + strconv.Itoa(counts["FAIL"]) + " failed, " +
		strconv.Itoa(counts["SKIP"]) + " skipped"
	require.Equal(t, want, lastLine(out.stdout))
	require.Contains(t, out.stdout, "SKIP pgx race/", "a skipped race case")
}

// jsonRecord has the fields of every record that -json writes.
type jsonRecord struct {
	Type     string   `json:"type"`
	DSN      string   `json:"dsn"`
	Driver   string   `json:"driver"`
	Case     string   `json:"case"`
	Status   string   `json:"status"`
	Messages []string `json:"messages"`
	Passed   *int     `json:"passed"`
	Failed   *int     `json:"failed"`
	Skipped  *int     `json:"skipped"`
}

func TestRunJSONOutput(t *testing.T) {
	t.Parallel()
	cfg := withDialect(brokenDialect{overwrite: true, serial: true})
	out := run(context.Background(), t, cfg, "-dsn", testDSN(), "-json", "-run", "^(complete|race)/")
	require.Equal(t, cli.ExitFail, out.code)

	var records []jsonRecord
	scanner := bufio.NewScanner(strings.NewReader(out.stdout))
	for scanner.Scan() {
		var rec jsonRecord
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &rec), "line %q", scanner.Text())
		records = append(records, rec)
	}
	require.NoError(t, scanner.Err())
	require.NotEmpty(t, records)
	require.Equal(t, "target", records[0].Type)
	require.NotEmpty(t, records[0].DSN)

	type counts struct{ passed, failed, skipped int }
	perDriver := map[string]*counts{"pgx": {}, "pq": {}}
	var total counts
	summaries := map[string]jsonRecord{}
	for _, rec := range records[1:] {
		switch rec.Type {
		case "case":
			c := perDriver[rec.Driver]
			require.NotNil(t, c, "case record of unknown driver %q", rec.Driver)
			require.NotEmpty(t, rec.Case)
			switch rec.Status {
			case "pass":
				c.passed++
			case "fail":
				c.failed++
				require.NotEmpty(t, rec.Messages, "failed case %s has no messages", rec.Case)
			case "skip":
				c.skipped++
				require.NotEmpty(t, rec.Messages, "skipped case %s has no reason", rec.Case)
			default:
				t.Fatalf("case %s has status %q", rec.Case, rec.Status)
			}
		case "summary":
			summaries[rec.Driver] = rec
		case "total":
			total = counts{*rec.Passed, *rec.Failed, *rec.Skipped}
		default:
			t.Fatalf("record of unknown type %q", rec.Type)
		}
	}

	var sum counts
	for driver, c := range perDriver {
		s, ok := summaries[driver]
		require.True(t, ok, "no summary for driver %s", driver)
		require.Equal(t, *c, counts{*s.Passed, *s.Failed, *s.Skipped}, "summary of driver %s", driver)
		require.Positive(t, c.failed, "driver %s has no failed case", driver)
		require.Positive(t, c.skipped, "driver %s has no skipped case", driver)
		sum.passed += c.passed
		sum.failed += c.failed
		sum.skipped += c.skipped
	}
	require.Equal(t, sum, total)
	require.Regexp(t, totalsLine, lastLine(out.stderr))
}

// The JUnit elements that the tests read back.
type (
	junitTestsuites struct {
		Tests    int              `xml:"tests,attr"`
		Failures int              `xml:"failures,attr"`
		Errors   int              `xml:"errors,attr"`
		Skipped  int              `xml:"skipped,attr"`
		Suites   []junitTestsuite `xml:"testsuite"`
	}
	junitTestsuite struct {
		Name      string          `xml:"name,attr"`
		Tests     int             `xml:"tests,attr"`
		Failures  int             `xml:"failures,attr"`
		Errors    int             `xml:"errors,attr"`
		Skipped   int             `xml:"skipped,attr"`
		Testcases []junitTestcase `xml:"testcase"`
	}
	junitTestcase struct {
		Name    string        `xml:"name,attr"`
		Failure *junitMessage `xml:"failure"`
		Error   *junitMessage `xml:"error"`
		Skipped *junitMessage `xml:"skipped"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
)

// readJUnit parses the JUnit file at path.
func readJUnit(t *testing.T, path string) junitTestsuites {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc junitTestsuites
	require.NoError(t, xml.Unmarshal(data, &doc), "JUnit file:\n%s", data)
	return doc
}

func TestRunJUnitOutput(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "results.xml")
	cfg := withDialect(brokenDialect{overwrite: true, serial: true})
	out := run(context.Background(), t, cfg, "-dsn", testDSN(), "-junit", path, "-run", "^(complete|race)/")
	require.Equal(t, cli.ExitFail, out.code)

	doc := readJUnit(t, path)
	require.Len(t, doc.Suites, 2)
	require.Equal(t, "pgx", doc.Suites[0].Name)
	require.Equal(t, "pq", doc.Suites[1].Name)

	var tests, failures, skipped int
	for _, suite := range doc.Suites {
		var suiteFailures, suiteSkipped int
		for _, tc := range suite.Testcases {
			require.NotEmpty(t, tc.Name)
			if tc.Failure != nil {
				suiteFailures++
				require.NotEmpty(t, tc.Failure.Text, "failure of %s has no messages", tc.Name)
				require.NotEmpty(t, tc.Failure.Message, "failure of %s has no message attribute", tc.Name)
			}
			if tc.Skipped != nil {
				suiteSkipped++
				require.NotEmpty(t, tc.Skipped.Message, "skip of %s has no reason", tc.Name)
			}
		}
		require.Equal(t, len(suite.Testcases), suite.Tests, "tests of suite %s", suite.Name)
		require.Equal(t, suiteFailures, suite.Failures, "failures of suite %s", suite.Name)
		require.Equal(t, suiteSkipped, suite.Skipped, "skipped of suite %s", suite.Name)
		require.Positive(t, suite.Failures, "suite %s has no failure", suite.Name)
		require.Positive(t, suite.Skipped, "suite %s has no skip", suite.Name)
		tests += suite.Tests
		failures += suite.Failures
		skipped += suite.Skipped
	}
	require.Equal(t, tests, doc.Tests)
	require.Equal(t, failures, doc.Failures)
	require.Equal(t, skipped, doc.Skipped)
	require.Zero(t, doc.Errors)

	want := strconv.Itoa(tests-failures-skipped) + " passed, " + strconv.Itoa(failures) + " failed, " +
		strconv.Itoa(skipped) + " skipped"
	require.Equal(t, want, lastLine(out.stdout))
}

func TestRunSetupErrorReport(t *testing.T) {
	t.Parallel()
	closedDSN := "postgres://root@127.0.0.1:" + closedPort(t) + "/test?sslmode=disable"
	// down is a driver that parses any DSN and connects to closedDSN.
	down := cli.Driver{Name: "down", Open: func(string) (*sql.DB, error) { return sql.Open("pgx", closedDSN) }}
	pgxDriver := dialects.Postgres().Drivers[0]

	tests := []struct {
		name    string
		drivers []cli.Driver
		dsn     string
		// wantSuites are the testsuite names, the last of which carries
		// the setup error.
		wantSuites []string
	}{
		{"first driver cannot connect", nil, closedDSN, []string{"pgx"}},
		{"second driver cannot connect", []cli.Driver{pgxDriver, down}, testDSN(), []string{"pgx", "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := dialects.Postgres()
			if tt.drivers != nil {
				cfg.Drivers = tt.drivers
			}
			path := filepath.Join(t.TempDir(), "results.xml")
			out := run(context.Background(), t, cfg, "-dsn", tt.dsn, "-junit", path, "-run", "^complete/")
			require.Equal(t, cli.ExitError, out.code)
			require.Contains(t, out.stderr, "nothing answered there")

			doc := readJUnit(t, path)
			require.Equal(t, 1, doc.Errors)
			require.Len(t, doc.Suites, len(tt.wantSuites))
			for i, name := range tt.wantSuites {
				require.Equal(t, name, doc.Suites[i].Name)
			}

			last := doc.Suites[len(doc.Suites)-1]
			require.Len(t, last.Testcases, 1)
			setup := last.Testcases[0]
			require.Equal(t, "setup", setup.Name)
			require.NotNil(t, setup.Error)
			require.Contains(t, setup.Error.Text, "nothing answered there")

			for _, suite := range doc.Suites[:len(doc.Suites)-1] {
				require.NotEmpty(t, suite.Testcases, "suite %s before the setup error", suite.Name)
				require.Contains(t, out.stdout, suite.Name+": "+strconv.Itoa(suite.Tests)+" passed, 0 failed")
			}
		})
	}
}

// failingDrivers returns drivers that fail the test when they are opened.
func failingDrivers(t *testing.T) []cli.Driver {
	open := func(string) (*sql.DB, error) {
		t.Error("a driver was opened")
		return nil, os.ErrInvalid
	}
	return []cli.Driver{{Name: "pgx", Open: open}, {Name: "pq", Open: open}}
}

func TestListTouchesNoDatabase(t *testing.T) {
	t.Parallel()
	cfg := cli.Config{Dialect: postgres.Dialect{}, Drivers: failingDrivers(t)}
	dsn := "postgres://root@127.0.0.1:" + closedPort(t) + "/test"
	cases := conformance.Cases()
	require.NotEmpty(t, cases)

	t.Run("text lists every case", func(t *testing.T) {
		out := run(context.Background(), t, cfg, "-list", "-dsn", dsn)
		require.Equal(t, cli.ExitPass, out.code)
		lines := strings.Split(strings.TrimRight(out.stdout, "\n"), "\n")
		require.Len(t, lines, len(cases))
		for i, c := range cases {
			require.True(t, strings.HasPrefix(lines[i], c.Name+" "), "line %q does not start with case %s", lines[i], c.Name)
			require.True(t, strings.HasSuffix(lines[i], c.Rule), "line %q does not end with the rule of case %s", lines[i], c.Name)
		}
	})
	t.Run("JSON lists every case", func(t *testing.T) {
		out := run(context.Background(), t, cfg, "-list", "-json")
		require.Equal(t, cli.ExitPass, out.code)
		lines := strings.Split(strings.TrimRight(out.stdout, "\n"), "\n")
		require.Len(t, lines, len(cases))
		for i, c := range cases {
			var rec struct{ Case, Rule string }
			require.NoError(t, json.Unmarshal([]byte(lines[i]), &rec))
			require.Equal(t, c.Name, rec.Case)
			require.Equal(t, c.Rule, rec.Rule)
		}
	})
	t.Run("run filters listed cases", func(t *testing.T) {
		out := run(context.Background(), t, cfg, "-list", "-run", "^checkpoint/")
		require.Equal(t, cli.ExitPass, out.code)
		for line := range strings.SplitSeq(strings.TrimRight(out.stdout, "\n"), "\n") {
			require.True(t, strings.HasPrefix(line, "checkpoint/"), "line %q", line)
		}
	})
}

func TestPasswordNeverPrinted(t *testing.T) {
	t.Parallel()
	password := "hunter2secret"
	port := closedPort(t)
	// A DATABASE_URL with a password of its own must keep it to connect.
	// Without one, the test server trusts the user, so it connects with
	// any password.
	reachable := testDSNWith(t, func(u *url.URL) {
		if p, ok := u.User.Password(); ok {
			password = p
			return
		}
		u.User = url.UserPassword(u.User.Username(), password)
	})

	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"unreachable URL with password", []string{"-dsn", "postgres://root:" + password + "@127.0.0.1:" + port + "/test"}, cli.ExitError},
		{"unparsable URL with password", []string{"-dsn", "postgres://root:" + password + "@127.0.0.1:notaport/test"}, cli.ExitError},
		// lib/pq quotes the whole URL in its parse error.
		{"unparsable URL for pq", []string{"-driver", "pq", "-dsn", "postgres://root:" + password + "@127.0.0.1:notaport/test"}, cli.ExitError},
		{"URL with unescaped at sign", []string{"-dsn", "postgres://root:" + password + "@x@127.0.0.1:" + port + "/test"}, cli.ExitError},
		{"password in query", []string{"-dsn", "postgres://root@127.0.0.1:" + port + "/test?password=" + password}, cli.ExitError},
		{"key value with password", []string{"-dsn", "host=127.0.0.1 port=" + port + " user=root password=" + password}, cli.ExitError},
		{"unterminated quoted password", []string{"-dsn", "host=127.0.0.1 password='" + password}, cli.ExitError},
		{"reachable URL in text", []string{"-dsn", reachable, "-run", "^complete/records-outcome$", "-v"}, cli.ExitPass},
		{"reachable URL in JSON", []string{"-dsn", reachable, "-run", "^complete/records-outcome$", "-json"}, cli.ExitPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			junit := filepath.Join(t.TempDir(), "results.xml")
			out := run(context.Background(), t, dialects.Postgres(), append(tt.args, "-junit", junit)...)
			require.Equal(t, tt.wantCode, out.code)
			require.NotContains(t, out.stdout, password)
			require.NotContains(t, out.stderr, password)
			if data, err := os.ReadFile(junit); err == nil {
				require.NotContains(t, string(data), password)
			}
		})
	}
}

// leftoverSchemas returns those of names that still exist in the test
// database.
func leftoverSchemas(t *testing.T, names []string) []string {
	t.Helper()
	db, err := sql.Open("pgx", testDSN())
	require.NoError(t, err)
	defer db.Close()
	var left []string
	for _, name := range names {
		var exists bool
		err := db.QueryRow("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", name).Scan(&exists)
		require.NoError(t, err)
		if exists {
			left = append(left, name)
		}
	}
	return left
}

func TestInterruptDropsSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// interruptInCase cancels the run when the first case builds a
		// store, instead of right after the schema is created.
		interruptInCase bool
	}{
		{name: "interrupt after schema creation"},
		{name: "interrupt during a case", interruptInCase: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			var mu sync.Mutex
			var created []string
			d := brokenDialect{afterCreateNamespace: func(name string) {
				mu.Lock()
				created = append(created, name)
				mu.Unlock()
				if !tt.interruptInCase {
					cancel()
				}
			}}
			if tt.interruptInCase {
				d.onStatements = cancel
			}

			out := run(ctx, t, withDialect(d), "-dsn", testDSN(), "-run", "^complete/")
			require.Equal(t, cli.ExitInterrupted, out.code)
			require.Contains(t, out.stderr, "dureq: conformance: interrupted")
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, created, 1, "the run went on to another driver after the interrupt")
			require.Empty(t, leftoverSchemas(t, created))
		})
	}
}

func TestSQLiteDialectRunsOnTempFile(t *testing.T) {
	out := run(context.Background(), t, dialects.SQLite(), "-dialect", "sqlite", "-run", "^(complete|checkpoint)/")
	require.Equal(t, cli.ExitPass, out.code)
	require.Contains(t, out.stdout, "(from a new database file in a temporary directory)")
	require.Contains(t, out.stdout, "PASS sqlite complete/records-outcome")
	require.Regexp(t, totalsLine, lastLine(out.stdout))
}

func TestMySQLDialectRuns(t *testing.T) {
	out := run(context.Background(), t, dialects.MySQL(), "-dialect", "mysql", "-run", "^(complete|race)/")
	require.Equal(t, cli.ExitPass, out.code)
	require.Contains(t, out.stdout, "PASS mysql complete/records-outcome")
	require.Regexp(t, totalsLine, lastLine(out.stdout))
}

func TestMySQLPasswordNeverPrinted(t *testing.T) {
	out := run(context.Background(), t, dialects.MySQL(), "-dialect", "mysql", "-dsn", "root:s3cr3tpw@tcp(127.0.0.1:"+closedPort(t)+")/test")
	require.Equal(t, cli.ExitError, out.code)
	require.NotContains(t, out.stdout+out.stderr, "s3cr3tpw")
	require.Contains(t, out.stderr, "root:xxxxx@tcp(127.0.0.1:")
}
