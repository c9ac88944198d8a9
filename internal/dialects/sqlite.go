package dialects

import (
	"context"

	"github.com/dureqsql/completion/conformance/cli"
	"github.com/dureqsql/completion/internal/sqlitetarget"
	"github.com/dureqsql/completion/sqlite"
)

// SQLite returns the configuration of the SQLite dialect with
// modernc.org/sqlite, on the database file that -dsn names or on a new file
// in a temporary directory.
func SQLite() cli.Config {
	return cli.Config{
		Dialect:   sqlite.Dialect{},
		Drivers:   []cli.Driver{{Name: "sqlite", Open: sqlitetarget.Open}},
		Find:      findSQLite,
		Redact:    func(dsn string) string { return dsn },
		Passwords: func(string) []string { return nil },
		TargetHelp: `Without -dsn, it creates a database file in a temporary directory and
removes it at the end.`,
		DSNHelp: "use the SQLite database at `DSN`, a modernc.org/sqlite DSN such as\n" +
			"file:/tmp/markers.db?_pragma=busy_timeout(5000)&_txlock=immediate (default: a new file)",
	}
}

func findSQLite(ctx context.Context, dsn string) (*cli.Target, error) {
	found, cleanup, err := sqlitetarget.Find(ctx, dsn)
	if err != nil {
		return nil, err
	}
	source := "-dsn flag"
	if dsn == "" {
		source = "a new database file in a temporary directory"
	}
	return &cli.Target{DSN: found, Source: source, Close: cleanup}, nil
}
