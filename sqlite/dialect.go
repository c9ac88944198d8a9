package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// maxLength is SQLITE_MAX_LENGTH, the maximum size of a string, blob or
// row in bytes: 1,000,000,000 in SQLite's default build, which
// modernc.org/sqlite v1.62.0 keeps.
const maxLength = 1_000_000_000

// rowOverhead is the room a checkpoint row needs besides its data: three
// IDs of store.MaxIDSize bytes, the kind, the timestamp and the record
// header take under 820 bytes. A bisection with the limit lowered to 1 MiB
// found 811, and the data's length takes two more bytes to encode at 1 GB.
const rowOverhead = 1024

// MaxDataSize is the largest checkpoint a store of this dialect accepts:
// SQLite's maximum row size less the room for the rest of the row, about
// 953 MiB. Storing it takes about three times that in memory, because the
// driver and SQLite each copy the value.
const MaxDataSize = maxLength - rowOverhead

// SQLite's primary result codes, the low byte of every extended code.
const (
	codeBusy      = 5 // SQLITE_BUSY: another connection holds the lock
	codeLocked    = 6 // SQLITE_LOCKED: a conflict within a shared cache
	codeInterrupt = 9 // SQLITE_INTERRUPT: sqlite3_interrupt, on a done context
)

// Extended result codes of SQLITE_CONSTRAINT (19) that mean a duplicate
// key.
const (
	codeConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	codeConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
)

// Dialect is the SQLite dialect. Its zero value is ready to use with
// modernc.org/sqlite, which registers the database/sql driver "sqlite".
type Dialect struct{}

var _ dialect.Dialect = Dialect{}

// Name returns "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Capabilities returns what SQLite supports: SERIALIZABLE only, one writer
// at a time, no schemas, and MaxDataSize.
//
// Every SQLite transaction is serializable, unless a connection in shared
// cache mode sets PRAGMA read_uncommitted. modernc.org/sqlite v1.62.0
// ignores the isolation level of BeginTx and accepts any, so a caller that
// requests READ COMMITTED gets SERIALIZABLE too. Only that level is
// declared, because it is the one SQLite keeps.
func (Dialect) Capabilities() dialect.Capabilities {
	return dialect.Capabilities{
		IsolationLevels:   []sql.IsolationLevel{sql.LevelSerializable},
		ConcurrentWriters: false,
		MaxDataSize:       MaxDataSize,
		Schemas:           false,
	}
}

// CheckTable rejects schemas, which SQLite does not have, and names that
// SQLite reserves or cannot store.
func (Dialect) CheckTable(t dialect.Table) error {
	name := t.Name
	switch {
	case t.Schema != "":
		return errors.New("schema " + quoteIdentifier(t.Schema) + " is set, but SQLite has no schemas; leave it empty")
	case name == "":
		return errors.New("table name is empty")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("table name contains a NUL byte")
	case !utf8.ValidString(name):
		return errors.New("table name is not valid UTF-8")
	case len(name) >= len("sqlite_") && strings.EqualFold(name[:len("sqlite_")], "sqlite_"):
		return errors.New("table name starts with sqlite_, which SQLite reserves for its own tables")
	}
	return nil
}

// QuoteIdentifier returns name in double quotes, with embedded double quotes
// doubled, so that any name CheckTable accepts is taken literally.
func (Dialect) QuoteIdentifier(name string) string { return quoteIdentifier(name) }

func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Placeholder returns "?".
func (Dialect) Placeholder(int) string { return "?" }

// Classify classifies errors by SQLite result code, which
// modernc.org/sqlite's *sqlite.Error reports through a Code method, and
// treats the errors of a lost connection as such.
func (Dialect) Classify(err error) dialect.Class {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		code := coded.Code()
		switch {
		case code&0xff == codeBusy, code&0xff == codeLocked:
			return dialect.ClassLockTimeout
		case code == codeConstraintPrimaryKey, code == codeConstraintUnique:
			return dialect.ClassUniqueViolation
		case code&0xff == codeInterrupt:
			return dialect.ClassCanceled
		}
		return dialect.ClassOther
	}
	if store.IsConnectionError(err) {
		return dialect.ClassConnection
	}
	return dialect.ClassOther
}
