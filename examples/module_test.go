package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
)

func TestMain(m *testing.M) {
	os.Exit(pgtarget.RunTests(m))
}

// goCommand returns the go command that runs these tests.
func goCommand(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	path := filepath.Join(runtime.GOROOT(), "bin", "go")
	_, err := os.Stat(path)
	require.NoError(t, err, "the go command is needed to build the example module")
	return path
}

// runInModule runs the go command with args in the example dialect's own
// module, against the test database, and returns its combined output.
func runInModule(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(goCommand(t), args...)
	cmd.Dir = "pgportable"
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtarget.DSN())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestExampleDialectPassesSuite(t *testing.T) {
	out, err := runInModule(t, "test", "-count=1", "./...")
	require.NoError(t, err, out)
	require.Contains(t, out, "ok  \texample.com/pgportable")
}

func TestExampleDialectBinary(t *testing.T) {
	out, err := runInModule(t, "run", "./cmd/conformance", "-run", "^(complete|schema)/")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Regexp(t, `^\d+ passed, 0 failed$`, lines[len(lines)-1])
	require.Contains(t, out, "PASS pgx schema/concurrent-ensure-table")
}
