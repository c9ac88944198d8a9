// Command conformance runs the conformance suite of the pgportable dialect
// with the binary of the completion module: the same flags, reports and
// exit codes, for this dialect.
package main

import (
	"context"
	"database/sql"
	"errors"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dureqsql/completion/conformance/cli"

	"example.com/pgportable"
)

func main() {
	os.Exit(cli.MainConfig(context.Background(), cli.Config{
		Dialect: pgportable.Dialect{},
		Drivers: []cli.Driver{{Name: "pgx", Open: func(dsn string) (*sql.DB, error) { return sql.Open("pgx", dsn) }}},
		Find:    find,
	}, os.Args[1:], os.Stdout, os.Stderr))
}

// find returns the -dsn value, else DATABASE_URL.
func find(_ context.Context, dsn string) (*cli.Target, error) {
	if dsn != "" {
		return &cli.Target{DSN: dsn, Source: "-dsn flag"}, nil
	}
	if dsn := os.Getenv("DATABASE_URL"); dsn != "" {
		return &cli.Target{DSN: dsn, Source: "DATABASE_URL"}, nil
	}
	return nil, errors.New("no database: set -dsn or DATABASE_URL to a PostgreSQL URL")
}
