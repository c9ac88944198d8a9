package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
)

func TestMain(m *testing.M) {
	os.Exit(pgtarget.RunTests(m))
}

// driverNames maps the short names used in test names to the names the
// drivers register with database/sql.
var driverNames = []struct{ short, sql string }{
	{"pgx", "pgx"},
	{"pq", "postgres"},
}

// drivers returns the conformance drivers for the test database.
func drivers() []conformance.Driver {
	var ds []conformance.Driver
	for _, d := range driverNames {
		ds = append(ds, conformance.Driver{
			Name: d.short,
			Open: func(context.Context) (*sql.DB, error) { return sql.Open(d.sql, pgtarget.DSN()) },
		})
	}
	return ds
}

// openDB opens the test database with the driver registered as name and
// closes it when the test ends.
func openDB(t *testing.T, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open(name, pgtarget.DSN())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

func TestConformance(t *testing.T) {
	conformance.Test(t, conformance.Config{Dialect: postgres.Dialect{}, Drivers: drivers()})
}
