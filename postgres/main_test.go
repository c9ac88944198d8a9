package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/internal/pgfault"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
)

func TestMain(m *testing.M) {
	os.Exit(pgtarget.RunTests(exampleSchema{m}))
}

// exampleSchema runs the tests with DATABASE_URL set to the test database,
// with a search_path of a new schema. The examples then read their
// connection string like a program would, and keep their tables apart from
// other runs on the same database.
type exampleSchema struct{ m *testing.M }

func (e exampleSchema) Run() int {
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtarget.DSN())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open test database:", err)
		return 1
	}
	defer db.Close()
	schema := fmt.Sprintf("dureq_examples_%d", os.Getpid())
	d := postgres.Dialect{}
	if err := d.DropNamespace(ctx, db, schema); err != nil {
		fmt.Fprintln(os.Stderr, "drop leftover example schema:", err)
		return 1
	}
	if err := d.CreateNamespace(ctx, db, schema); err != nil {
		fmt.Fprintln(os.Stderr, "create example schema:", err)
		return 1
	}
	defer func() {
		if err := d.DropNamespace(ctx, db, schema); err != nil {
			fmt.Fprintln(os.Stderr, "drop example schema:", err)
		}
	}()

	u, err := url.Parse(pgtarget.DSN())
	if err != nil {
		fmt.Fprintln(os.Stderr, "the examples need a postgres:// URL:", err)
		return 1
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	os.Setenv("DATABASE_URL", u.String())
	return e.m.Run()
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
			OpenFaulty: func(ctx context.Context) (*sql.DB, conformance.Faults, error) {
				db, proxy, err := pgfault.Open(ctx, pgtarget.DSN(), func(dsn string) (*sql.DB, error) {
					return sql.Open(d.sql, dsn)
				})
				if err != nil {
					return nil, nil, err
				}
				return db, proxy, nil
			},
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
