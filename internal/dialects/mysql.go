package dialects

import (
	"context"
	"database/sql"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/dureqsql/completion/conformance/cli"
	"github.com/dureqsql/completion/internal/mytarget"
	"github.com/dureqsql/completion/mysql"
)

// MySQL returns the configuration of the MySQL and MariaDB dialect with
// github.com/go-sql-driver/mysql, on the server that -dsn, MYSQL_DSN or the
// local default names.
func MySQL() cli.Config {
	return cli.Config{
		Dialect:   mysql.Dialect{},
		Drivers:   []cli.Driver{{Name: "mysql", Open: openMySQL}},
		Find:      findMySQL,
		Redact:    mytarget.Redact,
		Passwords: mytarget.Passwords,
		TargetHelp: `Without -dsn, it connects to MYSQL_DSN or, when that is unset, to
` + mytarget.DefaultDSN + `. Each run works in a database of its own with a
random name, which it drops at the end.`,
		DSNHelp: "connect to the server at `DSN`, a go-sql-driver/mysql DSN such as\n" +
			"user:password@tcp(127.0.0.1:3306)/test (default: MYSQL_DSN, then " + mytarget.DefaultDSN + ")",
	}
}

// openMySQL parses dsn before sql.Open, so that a malformed DSN is a usage
// error before any case runs.
func openMySQL(dsn string) (*sql.DB, error) {
	if _, err := mysqldriver.ParseDSN(dsn); err != nil {
		return nil, err
	}
	return sql.Open(mytarget.DriverName, dsn)
}

func findMySQL(ctx context.Context, dsn string) (*cli.Target, error) {
	found, source, err := mytarget.Find(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &cli.Target{DSN: found, Source: source}, nil
}
