package mysql

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dureqsql/completion/dialect"
)

// maxIdentifierLength is the maximum length of a MySQL or MariaDB table or
// database name, in characters.
const maxIdentifierLength = 64

// Dialect is the MySQL and MariaDB dialect for the driver
// github.com/go-sql-driver/mysql. Its zero value is ready to use on a server
// whose max_allowed_packet is at least DefaultMaxAllowedPacket.
type Dialect struct {
	// MaxAllowedPacket is the server's max_allowed_packet in bytes, which
	// bounds the size of a statement and of a result row, and so the size
	// of checkpoint data. Zero means DefaultMaxAllowedPacket. Set it when
	// the server allows larger packets; values above 1 GiB, the servers'
	// maximum, count as 1 GiB.
	MaxAllowedPacket int
}

var _ dialect.Dialect = Dialect{}
var _ dialect.Namespacer = Dialect{}

// Name returns "mysql".
func (Dialect) Name() string { return "mysql" }

// CheckTable rejects names that MySQL and MariaDB cannot store as a table or
// database name.
func (Dialect) CheckTable(t dialect.Table) error {
	if t.Schema != "" {
		if err := checkIdentifier("database name", t.Schema); err != nil {
			return err
		}
	}
	return checkIdentifier("table name", t.Name)
}

// checkIdentifier checks the rules that both servers apply to table and
// database names: at most 64 characters of the Basic Multilingual Plane,
// because the data dictionary stores names in utf8mb3, and no trailing space.
func checkIdentifier(label, name string) error {
	if err := dialect.CheckName(label, name); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(name); n > maxIdentifierLength {
		return errors.New(label + " is " + strconv.Itoa(n) + " characters long, over the MySQL maximum of " +
			strconv.Itoa(maxIdentifierLength))
	}
	if strings.HasSuffix(name, " ") {
		return errors.New(label + " ends with a space, which MySQL does not allow")
	}
	for _, r := range name {
		if r > 0xFFFF {
			return errors.New(label + " contains " + strconv.QuoteRune(r) +
				", outside the Basic Multilingual Plane, which MySQL names cannot contain")
		}
	}
	return nil
}

// QuoteIdentifier returns name in backticks, with embedded backticks
// doubled, so that any name CheckTable accepts is taken literally.
func (Dialect) QuoteIdentifier(name string) string { return quoteIdentifier(name) }

// Placeholder returns "?".
func (Dialect) Placeholder(int) string { return "?" }

func quoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// qualifiedName returns the quoted, database-qualified name of t.
func qualifiedName(t dialect.Table) string { return dialect.QualifiedName(Dialect{}, t) }

// Statements returns the SQL for the table t.
func (Dialect) Statements(t dialect.Table) dialect.Statements {
	name := qualifiedName(t)
	return dialect.Statements{
		InsertMarker: insertMarker(name),
		SelectMarker: selectMarker(name),
		PruneBatch:   pruneBatch(name),
	}
}

// insertMarker uses INSERT IGNORE, which reports 1 affected row for an
// insert and 0 for a duplicate key, also with clientFoundRows=true. ON
// DUPLICATE KEY UPDATE would report a duplicate as 1 row under
// clientFoundRows, the same as an insert. IGNORE also turns conversion
// errors into warnings: the column types rule them out for IDs and data,
// but a message character that the connection's character set cannot
// encode is stored as "?".
func insertMarker(table string) dialect.Statement {
	return dialect.Statement{
		SQL: "INSERT IGNORE INTO " + table + " (run_id, step, job_id, kind, data, message, created_at)" +
			" VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
		Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep, dialect.ArgJobID, dialect.ArgKind, dialect.ArgData, dialect.ArgMessage},
	}
}

// selectMarker is a consistent read, not a locking one; see "Isolation
// levels" in the package documentation. The message comes back as its
// utf8mb4 bytes, not converted to the connection's character set, and
// created_at as text, so that the driver's parseTime and loc settings
// cannot shift it.
func selectMarker(table string) dialect.Statement {
	return dialect.Statement{
		SQL: "SELECT kind, job_id, data, CAST(message AS BINARY), DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f')" +
			" FROM " + table + " WHERE run_id = ? AND step = ?",
		Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep},
	}
}

// pruneBatch deletes through a join on the primary key, because a
// single-table DELETE cannot skip locked rows. A derived table picks the
// batch with a locking read that skips them (SKIP LOCKED needs MySQL 8.0.1
// or MariaDB 10.6). STRAIGHT_JOIN makes the server read that batch first,
// because on a small table it would otherwise scan the whole table for the
// join and wait for every locked row. The secondary index on created_at
// ends with the primary key, so it returns the batch in this order without
// a sort.
func pruneBatch(table string) dialect.Statement {
	return dialect.Statement{
		SQL: "DELETE m FROM (SELECT run_id, step FROM " + table +
			" WHERE created_at < ? ORDER BY created_at, run_id, step LIMIT ? FOR UPDATE SKIP LOCKED) AS old" +
			" STRAIGHT_JOIN " + table + " AS m ON m.run_id = old.run_id AND m.step = old.step",
		Args: []dialect.Arg{dialect.ArgBefore, dialect.ArgLimit},
	}
}
