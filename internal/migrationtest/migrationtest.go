// Package migrationtest reads the migration files that each dialect package
// embeds, for the tests that compare them with what EnsureTable creates.
package migrationtest

import (
	"io/fs"
	"strings"
	"testing"
)

// Formats are the migration tools whose files every dialect ships, by the
// name of their folder under migrations/.
var Formats = []string{"golang-migrate", "goose"}

// Statements returns the SQL statements of the up or down part of the
// migration in format, read from fsys, the dialect's embedded files.
func Statements(t testing.TB, fsys fs.FS, format string, up bool) []string {
	t.Helper()
	var text string
	switch format {
	case "golang-migrate":
		suffix := ".down.sql"
		if up {
			suffix = ".up.sql"
		}
		text = read(t, fsys, "migrations/golang-migrate/000001_create_dureq_completions"+suffix)
	case "goose":
		file := read(t, fsys, "migrations/goose/00001_create_dureq_completions.sql")
		upPart, downPart, ok := strings.Cut(strings.TrimPrefix(file, "-- +goose Up\n"), "-- +goose Down\n")
		if !ok {
			t.Fatal("the goose file needs an Up and a Down section")
		}
		text = downPart
		if up {
			text = upPart
		}
	default:
		t.Fatalf("unknown migration format %q", format)
	}
	var stmts []string
	for stmt := range strings.SplitSeq(text, ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			stmts = append(stmts, stmt)
		}
	}
	return stmts
}

func read(t testing.TB, fsys fs.FS, name string) string {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read migration %s: %v", name, err)
	}
	return string(data)
}

// Normalize returns sql with each run of white space replaced by one space,
// so that DDL that differs only in layout compares equal.
func Normalize(sql string) string {
	return strings.Join(strings.Fields(sql), " ")
}
