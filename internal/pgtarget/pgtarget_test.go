package pgtarget

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"
)

// findTestTimeout bounds each Find call of these tests.
const findTestTimeout = 2 * time.Minute

// pgEnvVariables are the variables that Find reads before it starts a server.
var pgEnvVariables = []string{
	"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE",
}

// clearPGEnv unsets every variable that Find reads for the duration of the
// test. They must be unset, not empty, because lib/pq rejects an empty
// PGPORT.
func clearPGEnv(t *testing.T) {
	t.Helper()
	for _, name := range pgEnvVariables {
		t.Setenv(name, "") // restores the value after the test
		require.NoError(t, os.Unsetenv(name))
	}
}

// publicTempDir creates a temporary directory that every OS user can read
// and enter. Find runs PostgreSQL as the postgres user when the tests run as
// root, and that user must reach the fake binaries and TMPDIR.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtarget-test-*")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

// writeProgram writes an executable shell script.
func writeProgram(t *testing.T, path, script string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755))
}

// findTarget calls Find with a timeout and closes the target at the end of
// the test.
func findTarget(t *testing.T, dsn string) *Target {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), findTestTimeout)
	defer cancel()
	target, err := Find(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { target.Close() })
	return target
}

// requireSelectOne connects through the named database/sql driver and runs
// SELECT 1.
func requireSelectOne(t *testing.T, driver, dsn string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var result int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&result), "driver %s", driver)
	require.Equal(t, 1, result)
}

// portOf returns the host:port of a URL DSN.
func portOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Host
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"url with password", "postgres://alice:secret@db.example:5432/app?sslmode=disable", "postgres://alice:xxxxx@db.example:5432/app?sslmode=disable"},
		{"url without password", "postgres://alice@127.0.0.1:5432/app?sslmode=disable", "postgres://alice@127.0.0.1:5432/app?sslmode=disable"},
		{"postgresql scheme with password", "postgresql://alice:secret@h/app", "postgresql://alice:xxxxx@h/app"},
		{"url with percent-encoded password", "postgres://alice:se%40cret@h/app", "postgres://alice:xxxxx@h/app"},
		{"url with password in query", "postgres://alice@h/app?password=secret&sslmode=disable", "postgres://alice@h/app?password=xxxxx&sslmode=disable"},
		{"url with sslpassword in query", "postgres://alice@h/app?sslpassword=secret", "postgres://alice@h/app?sslpassword=xxxxx"},
		{"url with unescaped at sign", "postgres://alice:se@cret@h/app", "postgres://alice:xxxxx@h/app"},
		{"url with unescaped slash", "postgres://alice:12/secret@h/app", "postgres://xxxxx@h/app"},
		{"unparsable url with query", "postgres://alice:se cret@h:x/app?password=secret", "postgres://xxxxx@h:x/app?xxxxx"},
		{"key value with password", "host=h password=secret user=alice", "host=h password=xxxxx user=alice"},
		{"key value with quoted password", `host=h password='se cret\'s' dbname=app`, "host=h password=xxxxx dbname=app"},
		{"key value with spaced equals", "password = secret host=h", "password = xxxxx host=h"},
		{"key value with sslpassword", "sslpassword=secret sslmode=require", "sslpassword=xxxxx sslmode=require"},
		{"unterminated quoted password", "host=h password='secret", "host=h password=xxxxx"},
		{"key value without password", "host=h user=alice dbname=app", "host=h user=alice dbname=app"},
		{"empty dsn", "", ""},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := Redact(test.dsn)
			require.Equal(t, test.want, got)
			require.NotContains(t, got, "secret")
		})
	}
}

func TestFindExplicitDSN(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://other@127.0.0.1:5432/other")
	t.Setenv("PGHOST", "127.0.0.1")
	dsn := "postgres://alice@127.0.0.1:5432/app?sslmode=disable"

	target := findTarget(t, dsn)

	require.Equal(t, dsn, target.DSN)
	require.Equal(t, "-dsn flag", target.Source)
	require.NoError(t, target.Close())
	require.NoError(t, target.Close())
}

func TestFindDatabaseURL(t *testing.T) {
	clearPGEnv(t)
	t.Setenv("PGHOST", "127.0.0.1")
	dsn := "postgres://alice:secret@127.0.0.1:5432/app?sslmode=disable"
	t.Setenv("DATABASE_URL", dsn)

	target := findTarget(t, "")

	require.Equal(t, dsn, target.DSN)
	require.Equal(t, "DATABASE_URL", target.Source)
	require.NoError(t, target.Close())
}

func TestFindPGEnvironmentVariables(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "all variables set",
			env: map[string]string{
				"PGHOST": "127.0.0.1", "PGPORT": "5433", "PGUSER": "alice",
				"PGPASSWORD": "p@ss word", "PGDATABASE": "app", "PGSSLMODE": "disable",
			},
			want: "postgres://alice:p%40ss%20word@127.0.0.1:5433/app?sslmode=disable",
		},
		{
			name: "only user set",
			env:  map[string]string{"PGUSER": "alice"},
			want: "postgres://alice@localhost:5432/alice?sslmode=prefer",
		},
		{
			name: "IPv6 host",
			env:  map[string]string{"PGHOST": "::1", "PGUSER": "alice", "PGDATABASE": "app"},
			want: "postgres://alice@[::1]:5432/app?sslmode=prefer",
		},
		{
			name: "Unix socket directory",
			env:  map[string]string{"PGHOST": "/var/run/postgresql", "PGUSER": "alice", "PGDATABASE": "app"},
			want: "postgres://alice@/app?host=%2Fvar%2Frun%2Fpostgresql&port=5432&sslmode=prefer",
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			clearPGEnv(t)
			for name, value := range test.env {
				t.Setenv(name, value)
			}

			target := findTarget(t, "")

			require.Equal(t, "PG* environment variables", target.Source)
			require.Equal(t, test.want, target.DSN)

			config, err := pgconn.ParseConfig(target.DSN)
			require.NoError(t, err, "pgx rejects %s", Redact(target.DSN))
			require.Equal(t, "alice", config.User)
			_, err = pq.NewConnector(target.DSN)
			require.NoError(t, err, "lib/pq rejects %s", Redact(target.DSN))
		})
	}
}

func TestFindPGEnvironmentVariablesUnset(t *testing.T) {
	clearPGEnv(t)
	t.Setenv("PGPASSWORD", "secret")
	t.Setenv("PGSSLMODE", "disable")

	_, ok, err := dsnFromPGEnv()

	require.NoError(t, err)
	require.False(t, ok, "PGPASSWORD and PGSSLMODE alone must not select a server")
}

func TestFindStartsThrowawayServer(t *testing.T) {
	clearPGEnv(t)

	target := findTarget(t, "")

	require.True(t, strings.HasPrefix(target.Source, "PostgreSQL binaries in "), "source %q", target.Source)
	require.Regexp(t, `^postgres://postgres@127\.0\.0\.1:\d+/postgres\?sslmode=disable$`, target.DSN)
	require.DirExists(t, target.dir)
	requireSelectOne(t, "pgx", target.DSN)
	requireSelectOne(t, "postgres", target.DSN)

	address := portOf(t, target.DSN)
	require.NoError(t, target.Close())

	require.NoDirExists(t, target.dir)
	connection, err := net.DialTimeout("tcp", address, time.Second)
	if err == nil {
		connection.Close()
	}
	require.Error(t, err, "server still accepts connections on %s after Close", address)
	require.NoError(t, target.Close(), "second Close")
}

func TestFindStartsParallelServers(t *testing.T) {
	clearPGEnv(t)
	const count = 3

	targets := make([]*Target, count)
	errs := make([]error, count)
	var wait sync.WaitGroup
	for i := range count {
		wait.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), findTestTimeout)
			defer cancel()
			targets[i], errs[i] = Find(ctx, "")
		})
	}
	wait.Wait()
	for i := range count {
		t.Cleanup(func() { targets[i].Close() })
	}

	addresses := map[string]bool{}
	for i := range count {
		require.NoError(t, errs[i], "server %d", i)
		requireSelectOne(t, "pgx", targets[i].DSN)
		addresses[portOf(t, targets[i].DSN)] = true
	}
	require.Len(t, addresses, count, "servers share a port")
	for i := range count {
		require.NoError(t, targets[i].Close(), "server %d", i)
		require.NoDirExists(t, targets[i].dir)
	}
}

func TestFindRetriesPortInUse(t *testing.T) {
	clearPGEnv(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer listener.Close()
	takenPort := listener.Addr().(*net.TCPAddr).Port
	originalPickPort := pickPort
	t.Cleanup(func() { pickPort = originalPickPort })
	attempts := 0
	pickPort = func() (int, error) {
		attempts++
		if attempts == 1 {
			return takenPort, nil
		}
		return freePort()
	}

	target := findTarget(t, "")

	require.Equal(t, 2, attempts)
	require.NotEqual(t, listener.Addr().String(), portOf(t, target.DSN))
	requireSelectOne(t, "pgx", target.DSN)
	require.NoError(t, target.Close())
}

func TestFindNothingFoundError(t *testing.T) {
	clearPGEnv(t)
	t.Setenv("PATH", t.TempDir())
	originalBinDirs, originalDockerCheck := serverBinDirs, dockerCheck
	t.Cleanup(func() { serverBinDirs, dockerCheck = originalBinDirs, originalDockerCheck })
	serverBinDirs = filepath.Join(t.TempDir(), "*", "bin")
	dockerFailure := errors.New("docker engine disabled by test")
	dockerCheck = func(context.Context) error { return dockerFailure }

	target, err := Find(context.Background(), "")

	require.Nil(t, target)
	require.ErrorIs(t, err, ErrNoDatabase)
	require.ErrorIs(t, err, dockerFailure)
	message := err.Error()
	require.True(t, strings.HasPrefix(message, "dureq: "), "message %q", message)
	require.Contains(t, message, "initdb and pg_ctl not found on PATH")
	require.Contains(t, message, "set -dsn or DATABASE_URL to a running server")
	require.Contains(t, message, "apt-get install postgresql")
	require.Contains(t, message, "start a Docker engine")
}

func TestFindBinariesNewestVersionFirst(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root := t.TempDir()
	for _, version := range []string{"9.6", "15", "10", "16.2", "16"} {
		dir := filepath.Join(root, version, "bin")
		writeProgram(t, filepath.Join(dir, "initdb"), "exit 0\n")
		writeProgram(t, filepath.Join(dir, "pg_ctl"), "exit 0\n")
	}
	// The newest version lacks pg_ctl, so the next one is chosen.
	writeProgram(t, filepath.Join(root, "17", "bin", "initdb"), "exit 0\n")
	originalBinDirs := serverBinDirs
	t.Cleanup(func() { serverBinDirs = originalBinDirs })
	serverBinDirs = filepath.Join(root, "*", "bin")

	bin, err := findBinaries()

	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "16.2", "bin"), bin.dir)
	require.Equal(t, filepath.Join(root, "16.2", "bin", "initdb"), bin.initdb)
	require.Equal(t, filepath.Join(root, "16.2", "bin", "pg_ctl"), bin.pgCtl)
}

func TestFindBinariesPrefersPath(t *testing.T) {
	pathDir := t.TempDir()
	writeProgram(t, filepath.Join(pathDir, "initdb"), "exit 0\n")
	writeProgram(t, filepath.Join(pathDir, "pg_ctl"), "exit 0\n")
	t.Setenv("PATH", pathDir)

	bin, err := findBinaries()

	require.NoError(t, err)
	require.Equal(t, pathDir, bin.dir)
	require.Equal(t, filepath.Join(pathDir, "pg_ctl"), bin.pgCtl)
}

func TestFindFailedStartCleansUp(t *testing.T) {
	installed, err := findBinaries()
	require.NoError(t, err, "these tests need PostgreSQL's server binaries")

	binDir := filepath.Join(publicTempDir(t), "bin")
	require.NoError(t, os.MkdirAll(binDir, 0o755))
	require.NoError(t, os.Symlink(installed.initdb, filepath.Join(binDir, "initdb")))
	// The fake pg_ctl writes a line to the file of its --log option and fails.
	writeProgram(t, filepath.Join(binDir, "pg_ctl"), `for arg in "$@"; do
  case "$arg" in --log=*) echo "FATAL:  fake start failure" >> "${arg#--log=}" ;; esac
done
echo "pg_ctl: could not start server" >&2
exit 1
`)
	tempDir := publicTempDir(t)
	clearPGEnv(t)
	t.Setenv("PATH", binDir)
	t.Setenv("TMPDIR", tempDir)

	target, err := Find(context.Background(), "")

	require.Nil(t, target)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNoDatabase)
	require.Contains(t, err.Error(), "dureq: start throwaway PostgreSQL server")
	require.Contains(t, err.Error(), "pg_ctl start failed")
	require.Contains(t, err.Error(), "FATAL:  fake start failure")
	entries, err := os.ReadDir(tempDir)
	require.NoError(t, err)
	require.Empty(t, entries, "Find left files in TMPDIR")
}

func TestFindAsRootWithoutServerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the postgres OS user is needed only when the tests run as root")
	}
	clearPGEnv(t)
	originalUser := serverUser
	t.Cleanup(func() { serverUser = originalUser })
	serverUser = "dureq-no-such-user"

	target, err := Find(context.Background(), "")

	require.Nil(t, target)
	require.ErrorContains(t, err, `the OS user "dureq-no-such-user" to run it as was not found`)
	require.ErrorContains(t, err, "useradd --system dureq-no-such-user")
}

func TestCompareVersions(t *testing.T) {
	require.Positive(t, compareVersions("16", "9.6"))
	require.Positive(t, compareVersions("10", "9"))
	require.Positive(t, compareVersions("16.2", "16"))
	require.Negative(t, compareVersions("9.5", "9.6"))
	require.Zero(t, compareVersions("15", "15"))
}

func TestPingDockerReturnsQuickly(t *testing.T) {
	start := time.Now()

	err := pingDocker(context.Background())

	require.Less(t, time.Since(start), dockerPingTimeout+5*time.Second)
	if err != nil {
		require.ErrorContains(t, err, "no Docker engine responded")
	}
}

func TestDSNWithoutRunTestsPanics(t *testing.T) {
	require.PanicsWithValue(t,
		"pgtarget: DSN called without RunTests; add func TestMain(m *testing.M) { os.Exit(pgtarget.RunTests(m)) } to the package's tests",
		func() { DSN() })
}
