// Package dialects holds the configurations of the conformance binary for
// the dialects of this module: how to open their drivers, find or start a
// database, keep passwords out of the output and explain connection
// errors. They stay out of package cli, so that a dialect outside this
// module that builds the binary pulls in none of their drivers.
package dialects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/lib/pq"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/conformance/cli"
	"github.com/dureqsql/completion/internal/pgfault"
	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
)

// All returns the configuration of each dialect by the name -dialect takes.
func All() map[string]func() cli.Config {
	return map[string]func() cli.Config{
		"postgres": Postgres,
		"sqlite":   SQLite,
		"mysql":    MySQL,
	}
}

// Postgres returns the configuration of the PostgreSQL dialect: the
// drivers pgx (github.com/jackc/pgx/v5/stdlib) and pq (github.com/lib/pq),
// in that order, a database found or started by pgtarget, and the fault
// proxy.
func Postgres() cli.Config {
	return cli.Config{
		Dialect: postgres.Dialect{},
		Drivers: []cli.Driver{
			{Name: "pgx", Open: openPGX},
			{Name: "pq", Open: openPQ},
		},
		OpenFaulty: openThroughProxy,
		Find:       findPostgres,
		Redact:     pgtarget.Redact,
		Passwords:  dsnPasswords,
		Diagnose:   diagnosePostgres,
		TargetHelp: `Without -dsn, it connects to DATABASE_URL or, when that is unset, to the
server that the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE, PGSSLMODE) name. When none of them is set, it starts a
throwaway PostgreSQL server from initdb and pg_ctl, or through
testcontainers when a Docker engine answers, and removes it at the end.`,
		DSNHelp: "connect to the database at `URL`, a postgres:// URL or a key=value connection string\n" +
			"(default: DATABASE_URL, then the PG* variables, then a throwaway server)",
	}
}

// findPostgres finds or starts a PostgreSQL with pgtarget.
func findPostgres(ctx context.Context, dsn string) (*cli.Target, error) {
	t, err := pgtarget.Find(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &cli.Target{DSN: t.DSN, Source: t.Source, Close: t.Close}, nil
}

// openThroughProxy starts a fault proxy on loopback in front of the server
// that dsn names and opens a handle through it.
func openThroughProxy(ctx context.Context, dsn string, open func(dsn string) (*sql.DB, error)) (*sql.DB, conformance.Faults, error) {
	db, proxy, err := pgfault.Open(ctx, dsn, open)
	if errors.Is(err, pgfault.ErrTLSRequired) {
		return nil, nil, fmt.Errorf("%w: %w", conformance.ErrFaultsUnavailable, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return db, proxy, nil
}

// openPGX parses dsn before sql.Open, because pgx's stdlib driver only
// parses it when the first connection is made.
func openPGX(dsn string) (*sql.DB, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return nil, err
	}
	return sql.Open("pgx", dsn)
}

// openPQ opens a lib/pq handle. pq.NewConnector parses dsn and returns its
// errors, as sql.Open("postgres", dsn) does.
func openPQ(dsn string) (*sql.DB, error) {
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

var (
	// urlUserInfo matches the user info of a URL up to its last "@", which
	// is where the host starts even when url.Parse rejects the URL because
	// the password contains an unescaped "@", "/" or "?".
	urlUserInfo = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://(.*)@`)
	// keyValuePassword matches a password or sslpassword in libpq's
	// key=value form, quoted or bare.
	keyValuePassword = regexp.MustCompile(`(?:^|\s)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)`)
)

// dsnPasswords returns the passwords in dsn, in either DSN form and also
// when dsn does not parse. When dsn parses with pgconn, that includes a
// password that pgconn takes from PGPASSWORD or a password file.
func dsnPasswords(dsn string) []string {
	var passwords []string
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		passwords = append(passwords, cfg.Password)
	}
	if strings.Contains(dsn, "://") {
		if m := urlUserInfo.FindStringSubmatch(dsn); m != nil {
			if _, password, ok := strings.Cut(m[1], ":"); ok {
				passwords = append(passwords, password)
				if decoded, err := url.PathUnescape(password); err == nil {
					passwords = append(passwords, decoded)
				}
			}
		}
		if u, err := url.Parse(dsn); err == nil {
			query := u.Query()
			passwords = append(passwords, query.Get("password"), query.Get("sslpassword"))
		}
		return passwords
	}
	for _, m := range keyValuePassword.FindAllStringSubmatch(dsn, -1) {
		value := m[1]
		if strings.HasPrefix(value, "'") {
			value = strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'")
			value = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(value)
		}
		passwords = append(passwords, value)
	}
	return passwords
}
