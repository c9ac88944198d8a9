package sqlitetarget

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFindKeepsGivenDSN(t *testing.T) {
	dsn, cleanup, err := Find(context.Background(), "file:/data/jobs.db")
	require.NoError(t, err)
	require.Equal(t, "file:/data/jobs.db", dsn)
	require.Nil(t, cleanup)
}

func TestFindCreatesTemporaryDatabase(t *testing.T) {
	ctx := context.Background()
	dsn, cleanup, err := Find(ctx, "")
	require.NoError(t, err)
	require.NotNil(t, cleanup)
	require.True(t, strings.HasSuffix(dsn, "?"+RecommendedParams), "DSN %q", dsn)

	db, err := Open(dsn)
	require.NoError(t, err)
	var journalMode string
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journalMode))
	require.Equal(t, "wal", journalMode)
	var busyTimeout int
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busyTimeout))
	require.Equal(t, 5000, busyTimeout)
	require.NoError(t, db.Close())

	path := strings.TrimPrefix(strings.SplitN(dsn, "?", 2)[0], "file://")
	_, err = os.Stat(path)
	require.NoError(t, err, "the database file exists after the first connection")
	require.NoError(t, cleanup())
	_, err = os.Stat(filepath.Dir(path))
	require.ErrorIs(t, err, os.ErrNotExist, "cleanup removes the directory")
}

func TestDSNEscapesPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir with spaces & a #hash")
	require.NoError(t, os.Mkdir(dir, 0o700))
	db, err := Open(DSN(filepath.Join(dir, "test.db")))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Ping())
	_, err = os.Stat(filepath.Join(dir, "test.db"))
	require.NoError(t, err, "the file is created under the path as given")
}

func TestOpenRejectsMalformedDSN(t *testing.T) {
	_, err := Open("file:jobs.db?_pragma=%zz")
	require.Error(t, err)
}
