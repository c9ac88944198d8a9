package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dureqsql/completion/conformance"
)

// runner is the state of one run of the binary.
type runner struct {
	cfg    Config
	opts   options
	stdout io.Writer
	stderr io.Writer

	secrets *redactor
	printer printer
	started time.Time
	// results are the case results so far, with passwords removed from
	// their messages.
	results []conformance.Result
	// setupErr is the error of the driver whose database could not be
	// prepared, or nil, and setupMessage describes it for the user.
	setupErr     *conformance.SetupError
	setupMessage string
	// ranDrivers are the drivers whose run got past setup, in run order.
	ranDrivers []string
}

// run finds the database, runs the suite and reports the results. It
// returns the exit status.
func (r *runner) run(ctx context.Context) (code int) {
	r.secrets = newRedactor(r.cfg)
	r.secrets.addDSN(r.opts.dsn)
	if r.opts.json {
		r.printer = newJSONPrinter(r.stdout, r.stderr)
	} else {
		r.printer = &textPrinter{w: r.stdout, verbose: r.opts.verbose, driverWidth: maxNameLength(r.opts.drivers)}
	}

	if r.opts.dsn != "" {
		if err := r.checkDSN(r.opts.dsn); err != nil {
			r.errorf("invalid -dsn: %v\nRun conformance -h to see the form of a DSN for the %s dialect.", err, r.cfg.Dialect.Name())
			return ExitError
		}
	}

	if r.opts.junit != "" {
		file, err := os.Create(r.opts.junit)
		if err != nil {
			r.errorf("cannot create the -junit file: %v; give a path in a writable directory", err)
			return ExitError
		}
		defer func() {
			if err := r.writeJUnit(file); err != nil {
				r.errorf("failed to write the -junit file %s: %v", r.opts.junit, err)
				if code == ExitPass || code == ExitFail {
					code = ExitError
				}
			}
		}()
	}

	if r.cfg.Find == nil {
		r.errorf("the configuration has no Find function to turn -dsn into a database")
		return ExitError
	}
	target, err := r.cfg.Find(ctx, r.opts.dsn)
	if err != nil {
		if ctx.Err() != nil {
			// The error only repeats the interrupt, and Find has removed
			// what it started.
			r.errorf("interrupted while looking for a database")
			return ExitInterrupted
		}
		r.errorf("failed to find a database: %v", trimPrefix(err))
		return ExitError
	}
	defer func() {
		if target.Close == nil {
			return
		}
		if err := target.Close(); err != nil {
			r.errorf("failed to remove the throwaway database: %v", trimPrefix(err))
		}
	}()
	r.secrets.addDSN(target.DSN)
	if err := r.checkDSN(target.DSN); err != nil {
		r.errorf("invalid DSN from %s: %v", target.Source, err)
		return ExitError
	}
	return r.runSuite(ctx, target)
}

// runSuite runs the conformance suite against target, prints the summary
// and returns the exit status.
func (r *runner) runSuite(ctx context.Context, target *Target) int {
	r.started = time.Now()
	r.printer.start(startInfo{
		dsn:     r.secrets.redact(r.secrets.redactDSN(target.DSN)),
		source:  target.Source,
		dialect: r.cfg.Dialect.Name(),
		drivers: driverNames(r.opts.drivers),
		cases:   len(selectedCases(r.opts.match)),
	})

	suiteCfg := conformance.Config{
		Dialect:   r.cfg.Dialect,
		Progress:  r.addResult,
		StormRuns: r.opts.stormRuns,
		Seed:      r.opts.seed,
	}
	if r.opts.match != nil {
		suiteCfg.Match = r.opts.match.MatchString
	}
	for _, d := range r.opts.drivers {
		drv := conformance.Driver{
			Name: d.Name,
			Open: func(context.Context) (*sql.DB, error) { return d.Open(target.DSN) },
		}
		if r.cfg.OpenFaulty != nil {
			drv.OpenFaulty = func(ctx context.Context) (*sql.DB, conformance.Faults, error) {
				return r.cfg.OpenFaulty(ctx, target.DSN, d.Open)
			}
		}
		suiteCfg.Drivers = append(suiteCfg.Drivers, drv)
	}
	_, err := conformance.Run(ctx, suiteCfg)

	interrupted := ctx.Err() != nil
	if !interrupted && errors.As(err, &r.setupErr) {
		r.setupMessage = describeSetupError(r.setupErr, target, r.cfg, r.secrets)
	}
	r.ranDrivers = r.driversPastSetup(err == nil)
	r.printer.finish(r.summaries())

	switch {
	case interrupted:
		r.errorf("interrupted after %d case results; the last of them may have failed because of the interrupt",
			len(r.results))
		return ExitInterrupted
	case r.setupErr != nil:
		r.errorf("%s", r.setupMessage)
		return ExitError
	case err != nil:
		r.errorf("%v", r.secrets.redact(trimPrefix(err)))
		return ExitError
	case slices.ContainsFunc(r.results, isFailure):
		return ExitFail
	}
	return ExitPass
}

// addResult records a case result with passwords removed from its messages
// and prints it.
func (r *runner) addResult(res conformance.Result) {
	res.Messages = slices.Clone(res.Messages)
	for i, msg := range res.Messages {
		res.Messages[i] = r.secrets.redact(msg)
	}
	r.results = append(r.results, res)
	r.printer.result(res)
}

// driversPastSetup returns the drivers that ran their selected cases, fully
// or until an interrupt. After a complete run, that is every selected
// driver, and after a setup error, every driver before the one that failed.
// After an interrupt, it is the drivers with a result.
func (r *runner) driversPastSetup(completed bool) []string {
	if completed {
		return driverNames(r.opts.drivers)
	}
	var names []string
	for _, d := range r.opts.drivers {
		if r.setupErr != nil {
			if d.Name == r.setupErr.Driver {
				break
			}
			names = append(names, d.Name)
			continue
		}
		if slices.ContainsFunc(r.results, func(res conformance.Result) bool { return res.Driver == d.Name }) {
			names = append(names, d.Name)
		}
	}
	return names
}

// summaries returns the counts of each driver that ran and the total.
func (r *runner) summaries() ([]summary, summary) {
	var perDriver []summary
	var total summary
	for _, name := range r.ranDrivers {
		s := summary{driver: name}
		for _, res := range r.results {
			if res.Driver == name {
				s.add(res)
			}
		}
		perDriver = append(perDriver, s)
		total.passed += s.passed
		total.failed += s.failed
		total.skipped += s.skipped
		total.duration += s.duration
	}
	return perDriver, total
}

// checkDSN opens and closes dsn with each selected driver, which parses it
// without connecting.
func (r *runner) checkDSN(dsn string) error {
	for _, d := range r.opts.drivers {
		db, err := d.Open(dsn)
		if err != nil {
			return fmt.Errorf("driver %s: %s", d.Name, r.secrets.redact(err.Error()))
		}
		db.Close()
	}
	return nil
}

// errorf prints an error message with the binary's prefix to stderr, with
// passwords removed.
func (r *runner) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(r.stderr, errorPrefix+r.secrets.redact(msg))
}

// trimPrefix returns the message of err without a leading "dureq: ", which
// errorf adds back with the binary's own prefix.
func trimPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "dureq: ")
}

func isFailure(res conformance.Result) bool { return res.Status == conformance.StatusFail }

// selectedCases returns the cases whose name match selects, or every case
// when match is nil.
func selectedCases(match *regexp.Regexp) []conformance.Case {
	var selected []conformance.Case
	for _, c := range conformance.Cases() {
		if match == nil || match.MatchString(c.Name) {
			selected = append(selected, c)
		}
	}
	return selected
}

// listCases prints the name and rule of each selected case, as aligned text
// or as JSON lines, without connecting to a database.
func listCases(opts options, stdout io.Writer) int {
	cases := selectedCases(opts.match)
	if opts.json {
		enc := newJSONEncoder(stdout)
		for _, c := range cases {
			_ = enc.Encode(listRecord{Case: c.Name, Rule: c.Rule})
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		for _, c := range cases {
			fmt.Fprintf(tw, "%s\t%s\n", c.Name, c.Rule)
		}
		_ = tw.Flush()
	}
	return ExitPass
}

func maxNameLength(drivers []Driver) int {
	width := 0
	for _, d := range drivers {
		width = max(width, len(d.Name))
	}
	return width
}
