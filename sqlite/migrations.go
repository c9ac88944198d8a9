package sqlite

import "embed"

// Migrations holds the table of the package-level functions,
// dureq_completions, as versioned SQL files for migration tools, for teams
// that create tables with migrations rather than with EnsureTable. They
// create what EnsureTable creates, which a test checks, so EnsureTable finds
// the table current and writes nothing.
//
//   - migrations/golang-migrate: up and down files for golang-migrate.
//   - migrations/goose: one annotated file for goose.
//
// A store with another table name needs its own copy of the files with that
// name, its index included.
//
//go:embed migrations
var Migrations embed.FS
