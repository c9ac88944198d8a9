package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrNotStarted is returned by Crash and Restart for a target that Find did
// not start from the installed binaries, because only such a server may be
// crashed by a test.
var ErrNotStarted = errors.New("dureq: the target is not a throwaway server started from the PostgreSQL binaries")

// StartServer starts a throwaway server from the installed PostgreSQL
// binaries, whatever DATABASE_URL or the PG* variables name, for tests that
// crash and restart it. It returns an error matching ErrNoDatabase when
// the binaries are not installed.
func StartServer(ctx context.Context) (*Target, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDatabase, err)
	}
	return startServer(ctx, bin)
}

// Crash stops the server as a crash would: an immediate shutdown, which
// kills every backend without a checkpoint, so that the next start runs
// crash recovery.
func (t *Target) Crash(ctx context.Context) error {
	if t.server == nil {
		return ErrNotStarted
	}
	s := t.server
	return s.run(ctx, s.bin.pgCtl, "stop", "--pgdata="+s.dataDir, "--mode=immediate", "--wait",
		"--timeout="+strconv.Itoa(startTimeout))
}

// Restart starts the server again on the same port after Crash.
func (t *Target) Restart(ctx context.Context) error {
	if t.server == nil {
		return ErrNotStarted
	}
	s := t.server
	err := s.run(ctx, s.bin.pgCtl, "start", "--pgdata="+s.dataDir, "--log="+s.logFile,
		"--wait", "--timeout="+strconv.Itoa(startTimeout), "--options=-p "+strconv.Itoa(s.port))
	if err != nil {
		return fmt.Errorf("dureq: restart PostgreSQL server in %s: %w\nserver log ends with:\n%s", s.dir, err, s.readLogTail())
	}
	return nil
}
