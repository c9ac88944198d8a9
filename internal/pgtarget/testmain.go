package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// findTimeout bounds Find in RunTests. It leaves room for testcontainers
// to pull an image.
const findTimeout = 5 * time.Minute

// testTarget is the target that RunTests found, read by DSN.
var testTarget *Target

// RunTests runs the tests of a package against a PostgreSQL server. Call it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtarget.RunTests(m)) }
//
// It calls Find with an empty DSN, so DATABASE_URL and the PG* variables
// select the server, runs m.Run, closes the target and returns the exit
// code. When Find fails, it prints the error to stderr and returns 1, so
// that the tests fail instead of skipping.
//
// NOTE: a test that panics ends the process before Close runs, which leaves
// a started server running and its temporary directory in place.
//
// m is usually the *testing.M itself. A package that needs more set up
// around its tests passes a value whose Run method does that and calls
// m.Run; DSN works inside it.
func RunTests(m interface{ Run() int }) int {
	ctx, cancel := context.WithTimeout(context.Background(), findTimeout)
	target, err := Find(ctx, "")
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if !errors.Is(err, ErrNoDatabase) {
			fmt.Fprintln(os.Stderr, "To test against a running server instead, set DATABASE_URL, "+
				"e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "pgtarget: testing against %s from %s\n", Redact(target.DSN), target.Source)

	testTarget = target
	stopOnSignal()
	code := m.Run()
	testTarget = nil

	if err := target.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopOnSignal stops every server this process started and ends the
// process when it gets SIGINT, SIGTERM or SIGHUP. The servers run in process
// groups of their own, which a Ctrl-C in the terminal does not reach, and
// os.Exit skips the tests' deferred Close calls.
func stopOnSignal() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-signals
		fmt.Fprintf(os.Stderr, "pgtarget: %v: stopping the throwaway servers\n", sig)
		for _, t := range startedTargets() {
			if err := t.Close(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
		os.Exit(130)
	}()
}

// DSN returns the DSN of the server that RunTests found. It panics when
// called outside of RunTests.
func DSN() string {
	if testTarget == nil {
		panic("pgtarget: DSN called without RunTests; add func TestMain(m *testing.M) { os.Exit(pgtarget.RunTests(m)) } to the package's tests")
	}
	return testTarget.DSN
}
