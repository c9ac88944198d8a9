package pgportable_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dureqsql/completion/conformance"

	"example.com/pgportable"
)

// TestConformance runs the whole suite against the PostgreSQL that
// DATABASE_URL names. It fails, rather than skips, without one.
func TestConformance(t *testing.T) {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		t.Fatal("set DATABASE_URL to a PostgreSQL URL, such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	conformance.Test(t, conformance.Config{
		Dialect: pgportable.Dialect{},
		Drivers: []conformance.Driver{{
			Name: "pgx",
			Open: func(context.Context) (*sql.DB, error) { return sql.Open("pgx", dsn) },
		}},
	})
}
