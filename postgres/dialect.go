package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// maxIdentifierSize is PostgreSQL's default NAMEDATALEN minus one. The
// server silently truncates longer identifiers, so they are rejected.
const maxIdentifierSize = 63

// MaxDataSize is the largest checkpoint a store of this dialect accepts:
// 256 MiB. bytea itself holds up to 1 GB, but lib/pq sends bytea parameters
// hex-encoded, at twice their size, and a protocol message is at most 1 GB.
const MaxDataSize = 256 << 20

// Dialect is the PostgreSQL dialect. Its zero value is ready to use with
// any database/sql driver for PostgreSQL, such as pgx's stdlib or lib/pq.
type Dialect struct{}

var _ dialect.Dialect = Dialect{}
var _ dialect.Namespacer = Dialect{}

// Name returns "postgres".
func (Dialect) Name() string { return "postgres" }

// Capabilities returns what PostgreSQL supports: READ COMMITTED (the
// default), REPEATABLE READ and SERIALIZABLE, concurrent writers, schemas,
// and MaxDataSize.
func (Dialect) Capabilities() dialect.Capabilities {
	return dialect.Capabilities{
		IsolationLevels: []sql.IsolationLevel{
			sql.LevelReadCommitted,
			sql.LevelRepeatableRead,
			sql.LevelSerializable,
		},
		ConcurrentWriters: true,
		MaxDataSize:       MaxDataSize,
		Schemas:           true,
	}
}

// CheckTable rejects names that PostgreSQL would truncate or cannot store.
func (Dialect) CheckTable(t dialect.Table) error {
	if err := checkIdentifier("table name", t.Name); err != nil {
		return err
	}
	if t.Schema == "" {
		return nil
	}
	return checkIdentifier("schema name", t.Schema)
}

func checkIdentifier(label, name string) error {
	if err := dialect.CheckName(label, name); err != nil {
		return err
	}
	if len(name) > maxIdentifierSize {
		return errors.New(label + " is " + strconv.Itoa(len(name)) + " bytes long, over PostgreSQL's maximum of " + strconv.Itoa(maxIdentifierSize))
	}
	return nil
}

// QuoteIdentifier returns name in double quotes, with embedded double quotes
// doubled, so that any name CheckTable accepts is taken literally.
func (Dialect) QuoteIdentifier(name string) string { return quoteIdentifier(name) }

// Placeholder returns "$n".
func (Dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// qualifiedName returns the quoted, schema-qualified name of t.
func qualifiedName(t dialect.Table) string {
	return dialect.QualifiedName(Dialect{}, t)
}

// Statements returns the SQL for the table t.
func (Dialect) Statements(t dialect.Table) dialect.Statements {
	name := qualifiedName(t)
	return dialect.Statements{
		InsertMarker: dialect.Statement{
			SQL: "INSERT INTO " + name + " (run_id, step, job_id, kind, data, message, created_at)" +
				" VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (run_id, step) DO NOTHING",
			Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep, dialect.ArgJobID, dialect.ArgKind, dialect.ArgData, dialect.ArgMessage},
		},
		SelectMarker: dialect.Statement{
			SQL:  "SELECT kind, job_id, data, message, created_at FROM " + name + " WHERE run_id = $1 AND step = $2",
			Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep},
		},
		// The rows are locked and deleted in one statement, so their ctid
		// cannot change in between; SKIP LOCKED leaves rows that a
		// concurrent transaction holds to a later prune. ORDER BY makes
		// the planner read the B-tree index on created_at from the oldest
		// marker and stop at the cutoff, instead of scanning the table.
		// NOTE: while an open snapshot holds back the xmin horizon, each
		// batch reads again the index entries of the markers that earlier
		// batches deleted. With a REPEATABLE READ transaction open, the
		// 1,000th batch of 1,000 rows took 120 ms.
		PruneBatch: dialect.Statement{
			SQL: "DELETE FROM " + name + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + name +
				" WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))",
			Args: []dialect.Arg{dialect.ArgBefore, dialect.ArgLimit},
		},
	}
}

// Classify classifies errors by SQLSTATE, which both pgx's *pgconn.PgError
// and lib/pq's *pq.Error report through a SQLState method, and treats
// network errors as a lost connection.
func (Dialect) Classify(err error) dialect.Class {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		switch code := coded.SQLState(); {
		case code == "40001":
			return dialect.ClassSerialization
		case code == "40P01":
			return dialect.ClassDeadlock
		case code == "23505":
			return dialect.ClassUniqueViolation
		case code == "57014":
			return dialect.ClassCanceled
		case code == "55P03": // lock_not_available, such as lock_timeout
			return dialect.ClassLockTimeout
		// 25P03: idle_in_transaction_session_timeout ended the session.
		// 57P01 to 57P03: the server is shutting down, crashed or is
		// starting. 40003: the server cannot tell whether the statement
		// completed (CockroachDB sends it for an ambiguous commit). Class 08:
		// connection exceptions, except 08P01, a protocol violation that a
		// retry repeats, such as a startup parameter PgBouncer rejects.
		case code == "08P01":
			return dialect.ClassOther
		case code == "25P03", code == "57P01", code == "57P02", code == "57P03", code == "40003", strings.HasPrefix(code, "08"):
			return dialect.ClassConnection
		}
		return dialect.ClassOther
	}
	if store.IsConnectionError(err) || isClosedConnection(err) {
		return dialect.ClassConnection
	}
	return dialect.ClassOther
}

// isClosedConnection recognizes the errors that pgx returns, without a
// SQLSTATE or a network error to unwrap, for a connection it has already
// closed after a failure.
func isClosedConnection(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection closed")
}

// CreateNamespace creates the schema name.
func (Dialect) CreateNamespace(ctx context.Context, db *sql.DB, name string) error {
	if err := checkIdentifier("schema name", name); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "CREATE SCHEMA "+quoteIdentifier(name))
	return err
}

// DropNamespace drops the schema name and everything in it.
func (Dialect) DropNamespace(ctx context.Context, db *sql.DB, name string) error {
	if err := checkIdentifier("schema name", name); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+quoteIdentifier(name)+" CASCADE")
	return err
}
