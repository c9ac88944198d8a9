// Conformance runs the conformance suite of the PostgreSQL dialect against a
// live database, once per database/sql driver (pgx and lib/pq). Run it with
// -h for the flags and exit statuses.
package main

import (
	"context"
	"os"

	"github.com/dureqsql/completion/conformance/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
