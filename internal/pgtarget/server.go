package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverBinDirs is the glob of the directories where Debian and Ubuntu
// install the server binaries of each PostgreSQL major version. Tests
// replace it.
var serverBinDirs = "/usr/lib/postgresql/*/bin"

// serverUser is the OS user that runs initdb and the server when this
// process runs as root, because PostgreSQL rejects running as root. Tests
// replace it.
var serverUser = "postgres"

const (
	// startTimeout bounds pg_ctl start -w and pg_ctl stop -w, in seconds.
	startTimeout = 60
	// startAttempts is how often startServer picks a new port when another
	// process took the free port it picked before the server bound it.
	startAttempts = 3
	// logTailBytes is how much of the end of the server log goes into a
	// start error.
	logTailBytes = 2000
)

// binaries is a set of PostgreSQL server programs of one installation.
type binaries struct {
	dir    string // directory of initdb, shown in Target.Source
	initdb string
	pgCtl  string
}

// findBinaries looks for initdb and pg_ctl on PATH first, then in
// serverBinDirs, newest PostgreSQL version first.
func findBinaries() (binaries, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(initdb)
		pgCtl := filepath.Join(dir, "pg_ctl")
		if !isExecutable(pgCtl) {
			pgCtl, err = exec.LookPath("pg_ctl")
		}
		if err == nil {
			return binaries{dir: dir, initdb: initdb, pgCtl: pgCtl}, nil
		}
	}

	dirs, err := filepath.Glob(serverBinDirs)
	if err != nil {
		return binaries{}, fmt.Errorf("invalid glob %q: %w", serverBinDirs, err)
	}
	// Each directory is <prefix>/<version>/bin.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		bin := binaries{dir: dir, initdb: filepath.Join(dir, "initdb"), pgCtl: filepath.Join(dir, "pg_ctl")}
		if isExecutable(bin.initdb) && isExecutable(bin.pgCtl) {
			return bin, nil
		}
	}
	return binaries{}, fmt.Errorf("initdb and pg_ctl not found on PATH or in %s", serverBinDirs)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// compareVersions compares dotted version numbers such as "9.6" and "16"
// part by part, numerically where both parts are numbers.
func compareVersions(a, b string) int {
	partsA := strings.Split(a, ".")
	partsB := strings.Split(b, ".")
	for i := 0; i < len(partsA) && i < len(partsB); i++ {
		numberA, errA := strconv.Atoi(partsA[i])
		numberB, errB := strconv.Atoi(partsB[i])
		var order int
		if errA == nil && errB == nil {
			order = numberA - numberB
		} else {
			order = strings.Compare(partsA[i], partsB[i])
		}
		if order != 0 {
			return order
		}
	}
	return len(partsA) - len(partsB)
}

// server is a throwaway PostgreSQL server whose data directory, Unix socket
// and log live in one temporary directory.
type server struct {
	bin     binaries
	dir     string
	dataDir string
	logFile string
	// credential is the OS user to run initdb and pg_ctl as, or nil to run
	// them as the current user.
	credential *syscall.Credential
	// port is the TCP port the server listens on once started.
	port int
}

// startServer initializes a data directory in a new temporary directory and
// starts a server on a free port of 127.0.0.1. On failure it stops the
// server and removes the directory.
func startServer(ctx context.Context, bin binaries) (*Target, error) {
	target, err := startServerIn(ctx, bin)
	if err != nil {
		return nil, fmt.Errorf("dureq: start throwaway PostgreSQL server with %s: %w", bin.dir, err)
	}
	return target, nil
}

func startServerIn(ctx context.Context, bin binaries) (*Target, error) {
	credential, err := serverCredential()
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "dureq-pg-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary directory: %w", err)
	}
	s := &server{
		bin:        bin,
		dir:        dir,
		dataDir:    filepath.Join(dir, "data"),
		logFile:    filepath.Join(dir, "server.log"),
		credential: credential,
	}
	if credential != nil {
		if err := os.Chown(dir, int(credential.Uid), int(credential.Gid)); err != nil {
			s.discard()
			return nil, fmt.Errorf("give %s to OS user %s: %w", dir, serverUser, err)
		}
	}

	if err := s.initdb(ctx); err != nil {
		s.discard()
		return nil, err
	}
	port, err := s.start(ctx)
	if err != nil {
		s.discard()
		return nil, err
	}

	s.port = port
	t := &Target{
		DSN:    fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		Source: "PostgreSQL binaries in " + bin.dir,
		stop:   s.stop,
		dir:    s.dir,
		server: s,
	}
	started.Store(t, struct{}{})
	return t, nil
}

// serverCredential returns the OS user to run PostgreSQL as when this
// process runs as root, and nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	account, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL rejects running as root, and the OS user %q to run it as was not found (%w): "+
			"install PostgreSQL with apt-get install postgresql, which creates that user, "+
			"or create it with useradd --system %s, or run as a user other than root", serverUser, err, serverUser)
	}
	uid, err := strconv.ParseUint(account.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid uid %q of OS user %s: %w", account.Uid, serverUser, err)
	}
	gid, err := strconv.ParseUint(account.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("invalid gid %q of OS user %s: %w", account.Gid, serverUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// initdb creates the data directory and appends the server settings to its
// postgresql.conf. Locale C keeps initdb independent of the machine's
// locale settings and is valid with every encoding.
func (s *server) initdb(ctx context.Context) error {
	err := s.run(ctx, s.bin.initdb, "--pgdata="+s.dataDir, "--auth=trust", "--username=postgres",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return err
	}

	// The server listens on TCP only on 127.0.0.1 and keeps its socket in
	// the temporary directory, so that servers of parallel test packages
	// share nothing. Durability is off because the data is thrown away.
	settings := fmt.Sprintf("\n# Settings of a throwaway test server.\n"+
		"listen_addresses = '127.0.0.1'\n"+
		"unix_socket_directories = '%s'\n"+
		"fsync = off\n"+
		"synchronous_commit = off\n"+
		"full_page_writes = off\n",
		strings.ReplaceAll(s.dir, "'", "''"))
	conf, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	if _, err := conf.WriteString(settings); err != nil {
		conf.Close()
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	if err := conf.Close(); err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return nil
}

// start starts the server on a free port and returns the port. Because the
// port is free only when it is picked, another process may bind it first,
// and start then retries with a new port.
func (s *server) start(ctx context.Context) (int, error) {
	var err error
	for range startAttempts {
		var port int
		port, err = pickPort()
		if err != nil {
			return 0, err
		}
		// A new log per attempt keeps the bind error of an earlier attempt
		// out of the next one's log tail.
		if err := os.Remove(s.logFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("remove old server log: %w", err)
		}
		err = s.run(ctx, s.bin.pgCtl, "start", "--pgdata="+s.dataDir, "--log="+s.logFile,
			"--wait", "--timeout="+strconv.Itoa(startTimeout), "--options=-p "+strconv.Itoa(port))
		if err == nil {
			return port, nil
		}

		logTail := s.readLogTail()
		err = fmt.Errorf("%w\nserver log %s ends with:\n%s", err, s.logFile, logTail)
		if !strings.Contains(logTail, "could not bind") {
			return 0, err
		}
		s.stopImmediately()
	}
	return 0, err
}

// pickPort returns the port for the next start attempt. Tests replace it.
var pickPort = freePort

// freePort returns a TCP port of 127.0.0.1 that was free when it returned.
func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port on 127.0.0.1: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	if err := listener.Close(); err != nil {
		return 0, fmt.Errorf("find free port on 127.0.0.1: %w", err)
	}
	return port, nil
}

// stop stops the server, with an immediate shutdown when a fast one fails,
// and removes the temporary directory.
func (s *server) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout*time.Second)
	defer cancel()
	timeout := "--timeout=" + strconv.Itoa(startTimeout)

	stopErr := s.run(ctx, s.bin.pgCtl, "stop", "--pgdata="+s.dataDir, "--mode=fast", "--wait", timeout)
	if stopErr != nil {
		immediateErr := s.run(ctx, s.bin.pgCtl, "stop", "--pgdata="+s.dataDir, "--mode=immediate", "--wait", timeout)
		if immediateErr == nil {
			stopErr = nil
		} else {
			stopErr = errors.Join(stopErr, immediateErr)
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return errors.Join(stopErr, fmt.Errorf("remove %s: %w", s.dir, err))
	}
	if stopErr != nil {
		return fmt.Errorf("stop PostgreSQL server in %s: %w", s.dir, stopErr)
	}
	return nil
}

// discard cleans up after a failed start: it stops a server that may be
// running and removes the temporary directory, ignoring errors because the
// start error is the one to report.
func (s *server) discard() {
	s.stopImmediately()
	_ = os.RemoveAll(s.dir)
}

// stopImmediately stops the server with an immediate shutdown, if its
// postmaster.pid shows that it may be running.
func (s *server) stopImmediately() {
	if _, err := os.Stat(filepath.Join(s.dataDir, "postmaster.pid")); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout*time.Second)
	defer cancel()
	_ = s.run(ctx, s.bin.pgCtl, "stop", "--pgdata="+s.dataDir, "--mode=immediate", "--wait")
}

// run runs a PostgreSQL program as the server's OS user, in the temporary
// directory and without the PG* variables of this process, which would
// change the defaults of initdb, pg_ctl and the server.
func (s *server) run(ctx context.Context, program string, args ...string) error {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = s.dir
	cmd.Env = serverEnv(s.dir)
	// A process group of its own keeps a Ctrl-C in the terminal from
	// reaching the server, so it runs until Close stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.credential}
	// pg_ctl start leaves the server running with its output in the log
	// file. WaitDelay ends the wait for output if the server holds the
	// pipe anyway.
	cmd.WaitDelay = 5 * time.Second

	output, err := cmd.CombinedOutput()
	if err != nil {
		// Name the command as "initdb" or "pg_ctl start", without options.
		name := filepath.Base(program)
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			name += " " + args[0]
		}
		return fmt.Errorf("%s failed: %w\n%s", name, err, strings.TrimSpace(string(output)))
	}
	return nil
}

// serverEnv returns this process's environment without the PG* variables,
// and with HOME set to dir so that libpq in pg_ctl reads no ~/.pgpass or
// client certificate of the calling user.
func serverEnv(dir string) []string {
	env := []string{"HOME=" + dir}
	for _, entry := range os.Environ() {
		if strings.HasPrefix(entry, "PG") || strings.HasPrefix(entry, "HOME=") {
			continue
		}
		env = append(env, entry)
	}
	return env
}

// readLogTail returns the last lines of the server log, or why it could not
// be read.
func (s *server) readLogTail() string {
	content, err := os.ReadFile(s.logFile)
	if err != nil {
		return fmt.Sprintf("(server log not readable: %v)", err)
	}
	if len(content) > logTailBytes {
		content = content[len(content)-logTailBytes:]
		if newline := strings.IndexByte(string(content), '\n'); newline >= 0 {
			content = content[newline+1:]
		}
	}
	return strings.TrimSpace(string(content))
}
