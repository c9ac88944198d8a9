package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
)

// runMainEnv makes the test binary run main instead of the tests, so that
// a test can start the conformance binary as a subprocess and signal it.
const runMainEnv = "DUREQ_CONFORMANCE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	os.Exit(pgtarget.RunTests(m))
}

// testDSN returns the test database, found like the binary finds one.
func testDSN() string { return pgtarget.DSN() }

// newDatabase creates an empty database that only this test uses, drops it
// when the test ends, and returns its DSN and a handle to it.
func newDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", testDSN())
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })

	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "dureq_cli_" + hex.EncodeToString(suffix[:])
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		require.NoError(t, err)
	})

	u, err := url.Parse(testDSN())
	require.NoError(t, err, "the tests need a postgres:// URL")
	u.Path = "/" + name
	dsn := u.String()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

func TestSignalDropsSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		signal os.Signal
	}{
		{"SIGINT stops the run", os.Interrupt},
		{"SIGTERM stops the run", syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn, db := newDatabase(t)

			cmd := exec.Command(os.Args[0], "-dsn", dsn)
			cmd.Env = append(os.Environ(), runMainEnv+"=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())

			// Signal the binary as soon as its first case has ended, so
			// that it is in the middle of the run.
			var output strings.Builder
			scanner := bufio.NewScanner(stdout)
			signaled := false
			for scanner.Scan() {
				line := scanner.Text()
				output.WriteString(line + "\n")
				if !signaled && (strings.HasPrefix(line, "PASS ") || strings.HasPrefix(line, "FAIL ")) {
					require.NoError(t, cmd.Process.Signal(tt.signal))
					signaled = true
				}
			}
			err = cmd.Wait()
			t.Logf("stdout:\n%s\nstderr:\n%s", output.String(), stderr.String())
			require.True(t, signaled, "the binary printed no case result")

			var exitErr *exec.ExitError
			require.True(t, errors.As(err, &exitErr), "the binary exited with %v", err)
			require.Equal(t, 130, exitErr.ExitCode())
			require.Contains(t, stderr.String(), "dureq: conformance: interrupted")

			var left int
			err = db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dureq\_conformance\_%'`).Scan(&left)
			require.NoError(t, err)
			require.Zero(t, left, "schemas of the interrupted run remain")
		})
	}
}
