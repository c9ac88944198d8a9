// Package cli is the conformance binary. It parses the flags, finds the
// database, runs the conformance suite once per driver and reports the
// results as text, JSON lines or JUnit XML.
//
// The dialect and the drivers arrive in a Config, so that tests can run the
// binary's logic with a deliberately broken dialect, and a dialect outside
// this module gets the same binary from a main package of a few lines:
//
//	func main() {
//		os.Exit(cli.MainConfig(context.Background(), cli.Config{
//			Dialect: mydialect.Dialect{},
//			Drivers: []cli.Driver{{Name: "mydriver", Open: openMyDriver}},
//			Find:    findMyDatabase,
//		}, os.Args[1:], os.Stdout, os.Stderr))
//	}
package cli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/dialect"
)

// Exit statuses of Run and Main.
const (
	// ExitPass means that every selected case passed or was skipped.
	ExitPass = 0
	// ExitFail means that at least one case failed.
	ExitFail = 1
	// ExitError means a usage error, or a database that could not be
	// found, reached or prepared.
	ExitError = 2
	// ExitInterrupted means that an interrupt or a canceled context
	// stopped the run. It is 128 plus the number of SIGINT, as shells
	// report a process ended by Ctrl-C.
	ExitInterrupted = 130
)

// Driver is a database/sql driver that the binary can run the suite with.
type Driver struct {
	// Name is the value of the -driver flag that selects the driver.
	Name string
	// Open returns a handle to the database at dsn without connecting. It
	// must return an error when dsn cannot be parsed, because Run reports
	// that as a usage error before it runs any case.
	Open func(dsn string) (*sql.DB, error)
}

// Config is the dialect under test and the drivers the binary can run it
// with.
type Config struct {
	// Dialect is the dialect under test.
	Dialect dialect.Dialect
	// Drivers are the drivers that -driver can select. Without -driver,
	// the suite runs with each of them in this order.
	Drivers []Driver
	// OpenFaulty, when not nil, opens a driver's handle on dsn through a
	// fault injector for the fault cases. When it is nil they are skipped.
	OpenFaulty func(ctx context.Context, dsn string, open func(dsn string) (*sql.DB, error)) (*sql.DB, conformance.Faults, error)
	// Find returns the database to run against: dsn, the value of -dsn,
	// when it is not empty, else the dialect's default target.
	Find func(ctx context.Context, dsn string) (*Target, error)
	// Redact returns dsn with its password replaced, and Passwords returns
	// the passwords in dsn, so that no output shows one.
	Redact    func(dsn string) string
	Passwords func(dsn string) []string
	// Diagnose, when not nil, names the problem behind a driver's setup
	// error on the database at dsn, and what fixes it.
	Diagnose func(err error, dsn string) (problem, fix string)
	// TargetHelp is the paragraph of the help text that names the database
	// the binary uses without -dsn. DSNHelp is the help of -dsn, whose
	// backquoted word names its value.
	TargetHelp string
	DSNHelp    string

	// dialectNames are the names -dialect accepts, set by Main; Run alone
	// accepts only the name of Dialect.
	dialectNames []string
}

// acceptedDialects returns the names -dialect accepts.
func (cfg Config) acceptedDialects() []string {
	if len(cfg.dialectNames) > 0 {
		return cfg.dialectNames
	}
	return []string{cfg.Dialect.Name()}
}

// Target is the database a run works against.
type Target struct {
	DSN string
	// Source is the origin of the DSN, such as "-dsn flag".
	Source string
	// Close stops and removes what Find started; nil means nothing.
	Close func() error
}

// Main runs the binary for one of several dialects: the one that -dialect
// names in args, or defaultName without the flag. configs maps each name to
// its configuration. It then runs as MainConfig does.
func Main(ctx context.Context, configs map[string]func() Config, defaultName string, args []string, stdout, stderr io.Writer) int {
	names := slices.Sorted(maps.Keys(configs))
	name := dialectFlag(args, defaultName)
	config, ok := configs[name]
	if !ok {
		fmt.Fprintf(stderr, "%sunknown dialect %q in -dialect; choose one of %s\nRun conformance -h to see the flags.\n",
			errorPrefix, name, strings.Join(names, ", "))
		return ExitError
	}
	cfg := config()
	cfg.dialectNames = names
	return MainConfig(ctx, cfg, args, stdout, stderr)
}

// MainConfig runs the binary's logic for cfg, as Run does, and handles
// signals: the first SIGINT, SIGTERM or SIGHUP, or a closed output pipe,
// cancels the run, which then drops its schema and returns ExitInterrupted.
// A second signal ends the process at once, because MainConfig restores the
// default handling after the first. A dialect outside this module calls it
// from a main package of its own to get the same binary.
func MainConfig(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) int {
	// A closed output pipe, as in conformance | head, ends the run like an
	// interrupt. With SIGPIPE ignored, a write to it fails with EPIPE
	// instead of killing the process before it drops its schema. A
	// handler for SIGPIPE would not do, because the fault proxy's closed
	// sockets raise SIGPIPE too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	signal.Ignore(syscall.SIGPIPE)
	stdout = cancelOnClosedPipe{stdout, cancel}
	stderr = cancelOnClosedPipe{stderr, cancel}

	// SIGHUP, from a closed terminal, ends the run like an interrupt too.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	context.AfterFunc(ctx, stop)
	return Run(ctx, cfg, args, stdout, stderr)
}

// dialectFlag returns the value of -dialect in args, or defaultName. It
// reads the flag ahead of the others because the dialect decides which
// drivers -driver accepts.
func dialectFlag(args []string, defaultName string) string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		if !strings.HasPrefix(arg, "-") {
			continue // the value of a flag before it
		}
		name := strings.TrimLeft(arg, "-")
		if value, ok := strings.CutPrefix(name, "dialect="); ok {
			return value
		}
		if name == "dialect" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return defaultName
}

// cancelOnClosedPipe cancels the run when a write fails because the reader
// of the pipe is gone.
type cancelOnClosedPipe struct {
	w      io.Writer
	cancel context.CancelFunc
}

func (c cancelOnClosedPipe) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		c.cancel()
	}
	return n, err
}

// Run parses args, the command-line flags without the program name, runs
// the selected cases of cfg against the database and returns the exit
// status: ExitPass, ExitFail, ExitError or ExitInterrupted. Results go to
// stdout, and errors and warnings to stderr. Canceling ctx stops the run as
// an interrupt does.
func Run(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) int {
	if cfg.Dialect == nil || len(cfg.Drivers) == 0 {
		fmt.Fprintf(stderr, "%sthe configuration needs a Dialect and Drivers\n", errorPrefix)
		return ExitError
	}
	opts, err := parseFlags(cfg, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return ExitPass
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s%v\nRun conformance -h to see the flags.\n", errorPrefix, err)
		return ExitError
	}
	if opts.list {
		return listCases(opts, stdout)
	}
	r := &runner{cfg: cfg, opts: opts, stdout: stdout, stderr: stderr}
	return r.run(ctx)
}
