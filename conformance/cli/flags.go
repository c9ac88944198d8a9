package cli

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dureqsql/completion/conformance"
)

// errorPrefix starts every error and warning that the binary prints.
const errorPrefix = "dureq: conformance: "

// options are the parsed command-line flags.
type options struct {
	dsn     string
	drivers []Driver
	// match selects cases by name; nil selects every case.
	match   *regexp.Regexp
	list    bool
	json    bool
	junit   string
	verbose bool
	// stormRuns and seed shape the fault/redelivery-storm case.
	stormRuns int
	seed      uint64
}

// usageHeader is the help text above the flags. Its verbs take the
// dialect's name and its Config.TargetHelp.
const usageHeader = `Usage: conformance [flags]

Conformance runs the conformance suite of the %s dialect against a live
database, once per driver, and reports each case as it ends. Each driver's
run works in a schema of its own with a random name, or in tables with a
random prefix where the database has no schemas, and drops them at the end,
also after a failure or an interrupt, so it is safe to point at a shared
database.

%s

Exit status: 0 when every selected case passed or was skipped, 1 when a
case failed, 2 on a usage error or a database that cannot be found, reached
or prepared, and 130 after an interrupt (SIGINT, SIGTERM or SIGHUP) or a
closed output pipe. A second interrupt ends the binary at once, without
dropping its schema.

Flags:
`

// parseFlags parses args into options. For -h it prints the help text to
// stdout and returns flag.ErrHelp. Other errors describe a usage error.
func parseFlags(cfg Config, args []string, stdout io.Writer) (options, error) {
	var opts options
	var driverList, runExpr string

	names := driverNames(cfg.Drivers)
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dialectName := fs.String("dialect", cfg.Dialect.Name(),
		"run the suite of the dialect `NAME`: one of "+strings.Join(cfg.acceptedDialects(), ", "))
	fs.StringVar(&opts.dsn, "dsn", "",
		cmp.Or(cfg.DSNHelp, "connect to the database at `DSN`"))
	fs.StringVar(&driverList, "driver", "",
		"run the cases with the database/sql driver `NAME`: one of "+strings.Join(names, ", ")+
			",\nor a comma-separated list of them (default: "+strings.Join(names, ",")+", in that order)")
	fs.StringVar(&runExpr, "run", "",
		"run only the cases whose name matches the regular expression `REGEXP`, such as ^checkpoint/")
	fs.BoolVar(&opts.list, "list", false,
		"print the name and rule of each selected case and exit without connecting to a database")
	fs.BoolVar(&opts.json, "json", false,
		"write one JSON object per line to standard output: the target, each case result as its case\n"+
			"ends, and a summary per driver (the final totals line goes to standard error)")
	fs.StringVar(&opts.junit, "junit", "",
		"also write the results as JUnit XML to `FILE`, one testsuite per driver")
	fs.IntVar(&opts.stormRuns, "storm-runs", conformance.DefaultStormRuns,
		"deliver `N` runs in the fault/redelivery-storm case; the full size is "+strconv.Itoa(conformance.FullStormRuns))
	fs.Uint64Var(&opts.seed, "seed", 1,
		"seed the random faults and redeliveries of fault/redelivery-storm with `N`, so a run can be repeated")
	fs.BoolVar(&opts.verbose, "v", false,
		"also print the messages of passing cases, and the dialect, drivers and number of selected\n"+
			"cases at the start")

	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, usageHeader, cfg.Dialect.Name(), strings.TrimSpace(cfg.TargetHelp))
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return opts, err
	}
	if err != nil {
		return opts, err
	}
	if *dialectName != cfg.Dialect.Name() {
		return opts, fmt.Errorf("unknown dialect %q in -dialect; choose one of %s", *dialectName, strings.Join(cfg.acceptedDialects(), ", "))
	}
	if opts.stormRuns < 1 {
		return opts, fmt.Errorf("invalid -storm-runs %d: use 1 or more", opts.stormRuns)
	}
	if opts.seed == 0 {
		return opts, errors.New("invalid -seed 0: use 1 or more")
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q: conformance takes only flags", fs.Arg(0))
	}

	opts.drivers, err = selectDrivers(cfg.Drivers, driverList)
	if err != nil {
		return opts, err
	}
	if runExpr != "" {
		opts.match, err = regexp.Compile(runExpr)
		if err != nil {
			return opts, fmt.Errorf("invalid -run regular expression %q: %w", runExpr, err)
		}
		// A mistyped pattern must not pass as a run of zero cases.
		if len(selectedCases(opts.match)) == 0 {
			return opts, fmt.Errorf("no case matches -run %q; run with -list to see the case names", runExpr)
		}
	}
	return opts, nil
}

// selectDrivers returns the drivers named in list, a comma-separated list of
// names, in the order given and without repeats. An empty list selects all
// drivers.
func selectDrivers(drivers []Driver, list string) ([]Driver, error) {
	if strings.TrimSpace(list) == "" {
		return drivers, nil
	}
	var selected []Driver
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(drivers, func(d Driver) bool { return d.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown driver %q in -driver; choose one of %s",
				name, strings.Join(driverNames(drivers), ", "))
		}
		if !slices.ContainsFunc(selected, func(d Driver) bool { return d.Name == name }) {
			selected = append(selected, drivers[i])
		}
	}
	return selected, nil
}

func driverNames(drivers []Driver) []string {
	names := make([]string, len(drivers))
	for i, d := range drivers {
		names[i] = d.Name
	}
	return names
}
