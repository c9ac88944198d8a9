// Conformance runs the conformance suite of a dialect of this module against
// a live database, once per database/sql driver: postgres (pgx and lib/pq,
// the default), sqlite and mysql, chosen with -dialect. Run it with -h for
// the flags and exit statuses.
package main

import (
	"context"
	"os"

	"github.com/dureqsql/completion/conformance/cli"
	"github.com/dureqsql/completion/internal/dialects"
)

func main() {
	os.Exit(cli.Main(context.Background(), dialects.All(), "postgres", os.Args[1:], os.Stdout, os.Stderr))
}
