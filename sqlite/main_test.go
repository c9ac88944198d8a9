package sqlite_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/internal/sqlitetarget"
	"github.com/dureqsql/completion/sqlite"
)

// openDB opens a new database file in the test's temporary directory with
// the recommended DSN and closes it when the test ends.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlitetarget.Open(sqlitetarget.DSN(filepath.Join(t.TempDir(), "test.db")))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// openExampleDB opens a new database file called name in a temporary
// directory, with the recommended DSN, and creates the marker table. The
// returned function closes the database and removes the directory.
func openExampleDB(ctx context.Context, name string) (*sql.DB, func()) {
	dir, err := os.MkdirTemp("", "dureq-example-")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlitetarget.DSN(filepath.Join(dir, name)))
	if err == nil {
		err = sqlite.EnsureTable(ctx, db)
	}
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		db.Close()
		os.RemoveAll(dir)
	}
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	conformance.Test(t, conformance.Config{
		Dialect: sqlite.Dialect{},
		Drivers: []conformance.Driver{{
			Name: "sqlite",
			Open: func(context.Context) (*sql.DB, error) {
				return sqlitetarget.Open(sqlitetarget.DSN(filepath.Join(dir, "conformance.db")))
			},
		}},
	})
}
