// Package sqlitetarget finds the SQLite database that the conformance binary
// and the tests of package sqlite run against: the DSN the user gave, or a
// new database file in a temporary directory, opened with the settings that
// package sqlite recommends.
package sqlitetarget

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
)

// RecommendedParams are the DSN parameters of modernc.org/sqlite that the
// documentation of package sqlite recommends: wait up to 5 seconds for
// another writer's lock, let readers run beside the writer (WAL), and take
// the write lock at BEGIN.
const RecommendedParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"

// DSN returns the modernc.org/sqlite DSN of the database file at path with
// the recommended settings, as a file: URI, so that any path works.
func DSN(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: RecommendedParams}
	return u.String()
}

// Find returns dsn when it is not empty, with a nil cleanup. Otherwise it
// creates a temporary directory and returns the DSN of a new database file
// in it and a cleanup that removes the directory. The file itself is
// created on the first connection.
func Find(ctx context.Context, dsn string) (string, func() error, error) {
	if dsn != "" {
		return dsn, nil, nil
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "dureq-sqlite-")
	if err != nil {
		return "", nil, fmt.Errorf("create a directory for a temporary SQLite database: %w", err)
	}
	cleanup := func() error { return os.RemoveAll(dir) }
	return DSN(filepath.Join(dir, "conformance.db")), cleanup, nil
}

// Open returns a handle to the database at dsn without connecting. It
// returns an error for a DSN whose query string cannot be parsed; the
// driver checks the parameters' values only when it connects.
func Open(dsn string) (*sql.DB, error) {
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}
