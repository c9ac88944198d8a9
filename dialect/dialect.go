// Package dialect defines what a SQL database must provide so that the
// dialect-neutral logic in package store can keep completion markers in it.
//
// A dialect is SQL text and classification, not behaviour: the store decides
// what a duplicate means, validates input and wraps errors. A dialect
// generates the statements for one table, creates that table, and
// classifies its drivers' errors as duplicates, serialization failures or
// lost connections. Where it can, it recognizes driver errors through
// methods they share, such as SQLState() string, so that it works with any
// driver of its database. The PostgreSQL and SQLite dialects of this module
// import no driver. The MySQL dialect imports the one it is written for.
//
// A dialect outside this module implements Dialect and runs the suite in
// package conformance from its tests to show that it keeps the contract.
package dialect

import (
	"context"
	"database/sql"
)

// Dialect is a SQL database that can store completion markers.
//
// Implementations must be safe for concurrent use: a store calls them from
// every goroutine that uses it.
type Dialect interface {
	// Name returns a short lowercase name such as "postgres", used in error
	// messages and in the conformance report.
	Name() string

	// Capabilities declares what the database and this dialect support. The
	// conformance suite skips, with the reason shown, the cases that need a
	// capability the dialect does not declare.
	Capabilities() Capabilities

	// CheckTable reports whether t names a table this dialect can quote and
	// create. It returns a descriptive error for an empty or too long name,
	// invalid UTF-8, NUL bytes, or a schema on a database without schemas.
	// The store calls it once, when it is constructed, so that an invalid
	// name never reaches SQL.
	CheckTable(t Table) error

	// QuoteIdentifier returns name quoted so that the database takes it
	// literally, whatever characters it contains.
	QuoteIdentifier(name string) string

	// Placeholder returns the placeholder of the n-th argument of a
	// statement, counting from 1, such as "$1" or "?".
	Placeholder(n int) string

	// Statements returns the SQL text for the table t, which CheckTable has
	// accepted. The store calls it once and reuses the text for every call.
	Statements(t Table) Statements

	// EnsureTable creates the table t and its indexes when they do not
	// exist, and upgrades a table of an earlier layout in place without
	// losing a row. It must be idempotent. It must return quickly without
	// DDL when the table already has the current layout, so that a role
	// without DDL rights can call it. It must serialize concurrent callers
	// in any number of processes, for example with an advisory lock.
	EnsureTable(ctx context.Context, db *sql.DB, t Table) error

	// Classify returns the class of an error returned by the driver, or
	// ClassOther when the error belongs to no known class. It must
	// recognize errors wrapped with %w.
	Classify(err error) Class
}

// Namespacer is implemented by dialects whose database can create and drop
// schemas (or databases) by name. The conformance suite uses it to give each
// run a namespace of its own. A dialect without it runs the suite on a
// fresh database from its driver factory.
type Namespacer interface {
	// CreateNamespace creates an empty schema called name.
	CreateNamespace(ctx context.Context, db *sql.DB, name string) error

	// DropNamespace drops the schema called name with everything in it. It
	// returns nil when the schema does not exist.
	DropNamespace(ctx context.Context, db *sql.DB, name string) error
}

// Table is the location of the marker table. An empty Schema means the
// connection's default (for PostgreSQL, the first schema of search_path).
type Table struct {
	Schema string
	Name   string
}

// Capabilities lists what a dialect supports.
type Capabilities struct {
	// IsolationLevels lists the levels that BeginTx accepts and the dialect
	// keeps the outcome rules under. The first is the database's default.
	IsolationLevels []sql.IsolationLevel

	// ConcurrentWriters reports whether two transactions can write to the
	// table at the same time, so that races between them can be tested.
	ConcurrentWriters bool

	// MaxDataSize is the largest checkpoint the database can store, in
	// bytes. A store rejects a larger limit when it is constructed.
	MaxDataSize int

	// Schemas reports whether Table.Schema may be set.
	Schemas bool
}

// SupportsIsolation reports whether level is in c.IsolationLevels.
func (c Capabilities) SupportsIsolation(level sql.IsolationLevel) bool {
	for _, l := range c.IsolationLevels {
		if l == level {
			return true
		}
	}
	return false
}

// Statements is the SQL text a dialect generates for one table. Each
// statement's placeholders follow the database's own style, and Args lists
// which value each placeholder binds, in order, so that a dialect with
// positional "?" placeholders repeats an Arg where it needs the value twice.
type Statements struct {
	// InsertMarker inserts a row with ArgRunID, ArgStep, ArgJobID, ArgKind,
	// ArgData and ArgMessage and the database's current time, unless a row
	// with the same run ID and step exists. It is run with ExecContext:
	// one affected row means the row was inserted, zero means a row exists.
	// It must not raise an error on the duplicate, because the caller's
	// transaction has to stay usable, and at READ COMMITTED it must wait
	// for a concurrent insert of the same key to commit or roll back.
	InsertMarker Statement

	// SelectMarker returns the row of ArgRunID and ArgStep as the columns
	// kind, job ID, data, message and creation time, or no row. The
	// creation time may come back as a timestamp or as text such as
	// "2006-01-02 15:04:05.999999", which is read as UTC.
	SelectMarker Statement

	// PruneBatch deletes at most ArgLimit rows created before ArgBefore and
	// is run with ExecContext; the affected row count is the number deleted.
	// It should skip rows that other transactions hold locked rather than
	// wait for them.
	PruneBatch Statement
}

// Statement is one SQL statement and the values its placeholders bind.
type Statement struct {
	SQL  string
	Args []Arg
}

// Arg names a value that a store binds to a placeholder.
type Arg int

// The values a store binds. Kinds are bound as the strings of Kind.
const (
	ArgRunID   Arg = iota + 1 // the run ID, a string
	ArgStep                   // the step, a string; the outcome's step is ""
	ArgJobID                  // the job ID, a string, possibly empty
	ArgKind                   // the kind, a string: one of the Kind values
	ArgData                   // the checkpoint data, []byte or nil
	ArgMessage                // the failure message, a string or nil
	ArgBefore                 // the prune cutoff, a time.Time in UTC
	ArgLimit                  // the prune batch size, an int
)

// Kind is the value of a marker row's kind column.
type Kind string

// The kinds of marker rows.
const (
	KindCompleted  Kind = "completed"
	KindFailed     Kind = "failed"
	KindCheckpoint Kind = "checkpoint"
)

// Class is the class of a driver error, as far as the store needs to know.
type Class int

// The classes of driver errors.
const (
	// ClassOther is any error of no other class.
	ClassOther Class = iota
	// ClassSerialization is a serialization failure; retrying the whole
	// transaction may succeed.
	ClassSerialization
	// ClassDeadlock is a deadlock that the database broke by aborting this
	// transaction.
	ClassDeadlock
	// ClassConnection is a lost connection or a session the server ended,
	// also while COMMIT was in flight, when the outcome is unknown.
	ClassConnection
	// ClassCanceled is a statement the server canceled, for example on
	// request of a canceled context.
	ClassCanceled
	// ClassUniqueViolation is a unique or primary key violation.
	ClassUniqueViolation
	// ClassLockTimeout is a lock that was not granted in time, or a
	// database busy with another writer; retrying the whole transaction
	// may succeed.
	ClassLockTimeout
)

// Retryable reports whether retrying the whole transaction is safe and may
// succeed. A retry after ClassConnection is safe because a marker committed
// before the connection was lost turns the retry into a duplicate.
func (c Class) Retryable() bool {
	return c == ClassSerialization || c == ClassDeadlock || c == ClassConnection || c == ClassLockTimeout
}

// String returns the class name, as used in error messages.
func (c Class) String() string {
	switch c {
	case ClassSerialization:
		return "serialization failure"
	case ClassDeadlock:
		return "deadlock"
	case ClassConnection:
		return "connection lost"
	case ClassCanceled:
		return "statement canceled"
	case ClassUniqueViolation:
		return "unique violation"
	case ClassLockTimeout:
		return "lock timeout"
	default:
		return "other"
	}
}
