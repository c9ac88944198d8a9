package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/conformance"
	"github.com/dureqsql/completion/internal/mytarget"
	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// testDSN is the DSN of the server the tests run against, set by TestMain.
var testDSN string

// serverPacket is the server's max_allowed_packet, read by TestMain, so
// that the dialect under test declares the data size the server allows.
var serverPacket int

// TestMain finds the server (MYSQL_DSN, else root@tcp(127.0.0.1:3306)/test)
// and fails when the connection to it fails. The examples read MYSQL_DSN like a program
// would, so TestMain points it at a database of their own for the run.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, source, err := mytarget.Find(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "mysql: testing against %s from %s\n", mytarget.Redact(dsn), source)
	testDSN = dsn

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open test database:", err)
		return 1
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&serverPacket); err != nil {
		fmt.Fprintln(os.Stderr, "read max_allowed_packet:", err)
		return 1
	}

	examples, dropExamples, err := createExampleDatabase(ctx, db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer dropExamples()
	os.Setenv(mytarget.EnvDSN, withDSN(dsn, func(cfg *driver.Config) { cfg.DBName = examples }))
	return m.Run()
}

// createExampleDatabase creates an empty database for the examples of this
// process and returns its name and the function that drops it.
func createExampleDatabase(ctx context.Context, db *sql.DB) (string, func(), error) {
	name := fmt.Sprintf("dureq_examples_%d", os.Getpid())
	d := mysql.Dialect{}
	// A run that ended without its cleanup may have left the database.
	if err := d.DropNamespace(ctx, db, name); err != nil {
		return "", nil, fmt.Errorf("drop leftover example database: %w", err)
	}
	if err := d.CreateNamespace(ctx, db, name); err != nil {
		return "", nil, fmt.Errorf("create example database: %w", err)
	}
	drop := func() {
		dropCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.DropNamespace(dropCtx, db, name); err != nil {
			fmt.Fprintln(os.Stderr, "drop example database:", err)
		}
	}
	return name, drop, nil
}

// withDSN returns dsn changed by edit.
func withDSN(dsn string, edit func(cfg *driver.Config)) string {
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		panic("parse the DSN that mytarget.Find accepted: " + err.Error())
	}
	edit(cfg)
	return cfg.FormatDSN()
}

// testDialect is the dialect with the server's max_allowed_packet.
func testDialect() mysql.Dialect {
	return mysql.Dialect{MaxAllowedPacket: serverPacket}
}

// openDB opens the test database, with its configuration changed by edit
// when edit is not nil, and closes it when the test ends.
func openDB(t *testing.T, edit func(cfg *driver.Config)) *sql.DB {
	t.Helper()
	cfg, err := driver.ParseDSN(testDSN)
	require.NoError(t, err)
	if edit != nil {
		edit(cfg)
	}
	connector, err := driver.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

func TestConformance(t *testing.T) {
	conformance.Test(t, conformance.Config{
		Dialect: testDialect(),
		Drivers: []conformance.Driver{
			{
				Name: "mysql",
				Open: func(context.Context) (*sql.DB, error) { return sql.Open("mysql", testDSN) },
			},
		},
	})
}

// fixture is a database of a test's own, dropped when the test ends.
type fixture struct {
	db       *sql.DB
	database string
}

// setup creates a database for the test and returns it with a handle on
// the test server.
func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := openDB(t, nil)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "dureq_test_" + hex.EncodeToString(b[:])
	d := mysql.Dialect{}
	require.NoError(t, d.CreateNamespace(ctx, db, name))
	t.Cleanup(func() {
		require.NoError(t, d.DropNamespace(context.Background(), db, name))
	})
	return &fixture{db: db, database: name}
}

// newStore returns a store on the table name in the fixture's database,
// with the table created.
func (f *fixture) newStore(t *testing.T, name string, opts ...store.Option) *store.Store {
	t.Helper()
	all := append([]store.Option{store.WithSchema(f.database), store.WithTable(name)}, opts...)
	s, err := store.New(testDialect(), all...)
	require.NoError(t, err)
	require.NoError(t, s.EnsureTable(context.Background(), f.db))
	return s
}
