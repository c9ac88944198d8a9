// Package mytarget finds the MySQL or MariaDB server that the tests and the
// conformance binary run against, and redacts passwords from the DSNs of
// github.com/go-sql-driver/mysql, which look like
// user:password@tcp(host:port)/dbname?param=value.
package mytarget

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DriverName is the name under which github.com/go-sql-driver/mysql
// registers with database/sql.
const DriverName = "mysql"

// EnvDSN is the environment variable that Find reads when no DSN is given.
const EnvDSN = "MYSQL_DSN"

// DefaultDSN is the server Find tries last: the local MariaDB or MySQL as
// root without a password, database test.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/test"

// connectTimeout bounds the connection check of Find.
const connectTimeout = 10 * time.Second

// ErrNoDatabase is matched by the error of Find when the DSN is invalid or
// the connection to its server fails.
var ErrNoDatabase = errors.New("dureq: no usable MySQL or MariaDB database to test against")

// howToFix is the advice that follows every ErrNoDatabase error.
const howToFix = "start MariaDB or MySQL on 127.0.0.1:3306 with a database test that root may use without a password, " +
	"or set " + EnvDSN + " (or -dsn) to a DSN such as user:password@tcp(host:3306)/dbname"

// Find returns the DSN to run against and where it came from: dsn when it
// is not empty ("-dsn flag"), else the value of MYSQL_DSN, else DefaultDSN
// ("local default"). It connects once to check the server, and returns an
// error matching ErrNoDatabase, with the password redacted and advice on
// what to do, when the DSN is invalid or the connection fails.
func Find(ctx context.Context, dsn string) (string, string, error) {
	source := "-dsn flag"
	switch {
	case dsn != "":
	case os.Getenv(EnvDSN) != "":
		dsn, source = os.Getenv(EnvDSN), EnvDSN
	default:
		dsn, source = DefaultDSN, "local default"
	}
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "", "", fmt.Errorf("%w: invalid DSN %s from %s: %s; %s",
			ErrNoDatabase, Redact(dsn), source, redactText(err.Error(), dsn), howToFix)
	}
	if err := ping(ctx, dsn); err != nil {
		return "", "", fmt.Errorf("%w: connect to %s from %s: %s; %s",
			ErrNoDatabase, Redact(dsn), source, redactText(err.Error(), dsn), howToFix)
	}
	return dsn, source, nil
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open(DriverName, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return db.PingContext(ctx)
}

// splitPassword returns the part of dsn before the password, the password,
// and the part after it, or ok false when dsn has no password. It reads
// the DSN as the driver does: the user information ends at the last "@"
// before the last "/", and the password follows the first ":" in it, so a
// password may contain ":", "@" and "/".
func splitPassword(dsn string) (before, password, after string, ok bool) {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return "", "", "", false
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return "", "", "", false
	}
	colon := strings.IndexByte(dsn[:at], ':')
	if colon < 0 {
		return "", "", "", false
	}
	return dsn[:colon+1], dsn[colon+1 : at], dsn[at:], true
}

// Redact returns dsn with its password replaced by "xxxxx". A DSN without
// a password comes back unchanged.
func Redact(dsn string) string {
	before, password, after, ok := splitPassword(dsn)
	if !ok || password == "" {
		return dsn
	}
	return before + "xxxxx" + after
}

// Passwords returns the password in dsn, or nothing when it has none, so
// that a caller can remove it from any text, such as a driver's error.
func Passwords(dsn string) []string {
	_, password, _, ok := splitPassword(dsn)
	if !ok || password == "" {
		return nil
	}
	return []string{password}
}

// redactText replaces dsn and its password in text.
func redactText(text, dsn string) string {
	text = strings.ReplaceAll(text, dsn, Redact(dsn))
	for _, p := range Passwords(dsn) {
		text = strings.ReplaceAll(text, p, "xxxxx")
	}
	return text
}
