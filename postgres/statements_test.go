package postgres_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// driverSetting is a database/sql driver and the DSN parameters it is
// opened with.
type driverSetting struct {
	name   string            // the subtest and sub-benchmark name
	sql    string            // the name the driver registers with database/sql
	params map[string]string // added to the DSN's query
}

// driverSettings are pgx, lib/pq with its default settings, and lib/pq with
// binary_parameters=yes, which sends a statement and its parameters in one
// round trip instead of two.
var driverSettings = []driverSetting{
	{"pgx", "pgx", nil},
	{"pq", "postgres", nil},
	{"pq_binary", "postgres", map[string]string{"binary_parameters": "yes"}},
}

// wireCount is what a client sent to the server over one connection.
type wireCount struct {
	// statements counts the protocol messages that run a statement: Query
	// (simple protocol) and Execute (extended protocol).
	statements int
	// roundTrips counts the writes that follow a read, which is each time
	// the client sends and then waits for the server.
	roundTrips int
}

// wireCounter parses the frontend messages of the PostgreSQL protocol
// version 3 that pass through a net.Conn, and counts them. It needs an
// unencrypted connection (sslmode=disable), because it reads the bytes as
// they are written.
type wireCounter struct {
	mu    sync.Mutex
	count wireCount

	started bool   // the startup message, which has no type byte, was sent
	header  []byte // the part of the current message's header seen so far
	skip    int    // bytes of the current message's body still to pass
	wrote   bool   // the last call was a write
}

// take returns the count since the last call and starts a new one.
func (c *wireCounter) take() wireCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	count := c.count
	c.count = wireCount{}
	return count
}

func (c *wireCounter) write(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.wrote {
		c.count.roundTrips++
		c.wrote = true
	}
	for len(p) > 0 {
		if c.skip > 0 {
			n := min(c.skip, len(p))
			c.skip -= n
			p = p[n:]
			continue
		}
		// A typed message starts with its type byte and a 4-byte length
		// that counts itself; the startup message has only the length.
		size := 5
		if !c.started {
			size = 4
		}
		n := min(size-len(c.header), len(p))
		c.header = append(c.header, p[:n]...)
		p = p[n:]
		if len(c.header) < size {
			return
		}
		length := int(binary.BigEndian.Uint32(c.header[size-4:]))
		if c.started {
			switch c.header[0] {
			case 'Q', 'E':
				c.count.statements++
			}
		}
		c.started = true
		c.skip = length - 4
		c.header = c.header[:0]
	}
}

func (c *wireCounter) read() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wrote = false
}

// countedConn is a net.Conn that reports its traffic to a wireCounter.
type countedConn struct {
	net.Conn
	counter *wireCounter
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.counter.write(p)
	return c.Conn.Write(p)
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.counter.read()
	return c.Conn.Read(p)
}

// countedDialer dials connections that report to counter. It serves as
// pgx's DialFunc and as lib/pq's Dialer.
type countedDialer struct {
	counter *wireCounter
	dialer  net.Dialer
}

func (d *countedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := d.dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: conn, counter: d.counter}, nil
}

func (d *countedDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *countedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// openCounted opens the test database with driver d over one connection
// whose frontend traffic counter counts, with a search_path of a new schema
// that holds the marker table.
func openCounted(t *testing.T, d driverSetting) (*sql.DB, *wireCounter) {
	t.Helper()
	schema := newSchema(t, openDB(t, "pgx"))
	u, err := url.Parse(pgtarget.DSN())
	require.NoError(t, err, "the tests need a postgres:// URL")
	q := u.Query()
	for k, v := range d.params {
		q.Set(k, v)
	}
	q.Set("search_path", schema)
	q.Set("sslmode", "disable") // the counter reads plain protocol messages
	u.RawQuery = q.Encode()

	counter := &wireCounter{}
	dialer := &countedDialer{counter: counter}
	var db *sql.DB
	switch d.sql {
	case "pgx":
		config, err := pgx.ParseConfig(u.String())
		require.NoError(t, err)
		config.DialFunc = dialer.DialContext
		// stdlib pings a connection that was idle for over a second before
		// it reuses it; the ping would count as a statement of the call.
		db = stdlib.OpenDB(*config, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool {
			return false
		}))
	case "postgres":
		connector, err := pq.NewConnector(u.String())
		require.NoError(t, err)
		connector.Dialer(dialer)
		db = sql.OpenDB(connector)
	default:
		t.Fatalf("no counted connection for driver %q", d.sql)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	require.NoError(t, postgres.EnsureTable(context.Background(), db))
	return db, counter
}

// roundTripsPerStatement is the number of round trips each driver setting
// takes for one statement with parameters, once pgx has prepared it on the
// connection. lib/pq by default sends Parse and Describe and waits for the
// parameter types before it sends Bind and Execute; with
// binary_parameters=yes it sends all of them at once.
var roundTripsPerStatement = map[string]int{"pgx": 1, "pq": 2, "pq_binary": 1}

// countedCall is a call whose statements TestStatementsPerCall counts. It
// gets a context that carries a fresh run, which earlier transactions gave
// a completed outcome, a failed outcome with the message "declined" and a
// checkpoint of the step "charge" when state lists them. A call that
// writes gets a transaction, which the test commits; a call that reads
// gets a nil tx and uses db.
type countedCall struct {
	name       string
	state      []string // "completed", "failed" and "checkpoint"
	writes     bool
	call       func(ctx context.Context, db *sql.DB, tx *sql.Tx) error
	statements int
}

var countedCalls = []countedCall{
	{name: "CompleteTx", writes: true, call: func(ctx context.Context, _ *sql.DB, tx *sql.Tx) error {
		return postgres.CompleteTx(ctx, tx)
	}, statements: 1},
	{name: "FailTx", writes: true, call: func(ctx context.Context, _ *sql.DB, tx *sql.Tx) error {
		return postgres.FailTx(ctx, tx, errors.New("declined"))
	}, statements: 1},
	{name: "CheckpointTx", writes: true, call: func(ctx context.Context, _ *sql.DB, tx *sql.Tx) error {
		return postgres.CheckpointTx(ctx, tx, "charge", []byte("ch_1"))
	}, statements: 1},
	{name: "IsCompleted", state: []string{"completed"}, call: func(ctx context.Context, db *sql.DB, _ *sql.Tx) error {
		done, err := postgres.IsCompleted(ctx, db)
		if err == nil && !done {
			err = errors.New("IsCompleted returned false for a completed run")
		}
		return err
	}, statements: 1},
	{name: "IsCompletedWithoutOutcome", call: func(ctx context.Context, db *sql.DB, _ *sql.Tx) error {
		done, err := postgres.IsCompleted(ctx, db)
		if err == nil && done {
			err = errors.New("IsCompleted returned true for a run without an outcome")
		}
		return err
	}, statements: 1},
	{name: "IsCheckpointed", state: []string{"checkpoint"}, call: func(ctx context.Context, db *sql.DB, _ *sql.Tx) error {
		ok, _, err := postgres.IsCheckpointed(ctx, db, "charge")
		if err == nil && !ok {
			err = errors.New("IsCheckpointed returned false for a stored checkpoint")
		}
		return err
	}, statements: 1},
	{name: "Outcome", state: []string{"failed"}, call: func(ctx context.Context, db *sql.DB, _ *sql.Tx) error {
		_, err := postgres.Outcome(ctx, db)
		return err
	}, statements: 1},
	{name: "PruneUnderOneBatch", call: func(ctx context.Context, db *sql.DB, _ *sql.Tx) error {
		_, err := postgres.Prune(ctx, db, time.Now().Add(-time.Hour))
		return err
	}, statements: 1},
	// A duplicate reads the existing outcome to tell completed from failed.
	{name: "CompleteTxDuplicate", state: []string{"completed"}, writes: true, call: func(ctx context.Context, _ *sql.DB, tx *sql.Tx) error {
		if err := postgres.CompleteTx(ctx, tx); !errors.Is(err, postgres.ErrAlreadyCompleted) {
			return errors.Join(errors.New("expected ErrAlreadyCompleted"), err)
		}
		return nil
	}, statements: 2},
	{name: "CheckpointTxDuplicate", state: []string{"checkpoint"}, writes: true, call: func(ctx context.Context, _ *sql.DB, tx *sql.Tx) error {
		if err := postgres.CheckpointTx(ctx, tx, "charge", nil); !errors.Is(err, postgres.ErrAlreadyCheckpointed) {
			return errors.Join(errors.New("expected ErrAlreadyCheckpointed"), err)
		}
		return nil
	}, statements: 1},
}

// prepareRun gives the run of ctx the outcome and checkpoint that state
// lists, and commits them.
func prepareRun(t *testing.T, ctx context.Context, db *sql.DB, state []string) {
	t.Helper()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	for _, s := range state {
		switch s {
		case "completed":
			require.NoError(t, postgres.CompleteTx(ctx, tx))
		case "failed":
			require.NoError(t, postgres.FailTx(ctx, tx, errors.New("declined")))
		case "checkpoint":
			require.NoError(t, postgres.CheckpointTx(ctx, tx, "charge", []byte("ch_1")))
		}
	}
	require.NoError(t, tx.Commit())
}

// TestStatementsPerCall counts, on the wire, the statements and round trips
// of each call, so that a call which sends an extra statement fails here.
// Each call runs twice on fresh runs, and only the second is counted,
// because pgx prepares a statement on its first use on a connection.
func TestStatementsPerCall(t *testing.T) {
	for _, d := range driverSettings {
		t.Run(d.name, func(t *testing.T) {
			db, counter := openCounted(t, d)
			for _, c := range countedCalls {
				t.Run(c.name, func(t *testing.T) {
					var got wireCount
					for attempt := range 2 {
						ctx := store.WithRun(context.Background(), c.name+"-"+strconv.Itoa(attempt), "job-1")
						prepareRun(t, ctx, db, c.state)
						var tx *sql.Tx
						if c.writes {
							var err error
							tx, err = db.BeginTx(ctx, nil)
							require.NoError(t, err)
						}
						counter.take()
						err := c.call(ctx, db, tx)
						got = counter.take()
						require.NoError(t, err)
						if tx != nil {
							require.NoError(t, tx.Commit())
						}
					}
					require.Equal(t, c.statements, got.statements, "statements sent")
					require.Equal(t, c.statements*roundTripsPerStatement[d.name], got.roundTrips, "round trips")
				})
			}
		})
	}
}

// TestEnsureTableOneQueryWhenCurrent checks that EnsureTable on a table of
// the current layout sends one catalog query.
func TestEnsureTableOneQueryWhenCurrent(t *testing.T) {
	for _, d := range driverSettings {
		t.Run(d.name, func(t *testing.T) {
			db, counter := openCounted(t, d)
			counter.take()
			require.NoError(t, postgres.EnsureTable(context.Background(), db))
			require.Equal(t, 1, counter.take().statements)
		})
	}
}
