package dialect

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// CheckName returns an error for a table or schema name that no SQL
// database takes: an empty name, invalid UTF-8, or a NUL byte. label names
// the value in the message, such as "table name". A dialect calls it from
// CheckTable and then checks its own database's limits.
func CheckName(label, name string) error {
	switch {
	case name == "":
		return errors.New(label + " is empty")
	case !utf8.ValidString(name):
		return errors.New(label + " is not valid UTF-8")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New(label + " contains a NUL byte")
	}
	return nil
}

// QualifiedName returns the name of t quoted by d, preceded by its quoted
// schema and a dot when t has a schema.
func QualifiedName(d Dialect, t Table) string {
	if t.Schema == "" {
		return d.QuoteIdentifier(t.Name)
	}
	return d.QuoteIdentifier(t.Schema) + "." + d.QuoteIdentifier(t.Name)
}
