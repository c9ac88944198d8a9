// Package pgportable is an example of a dialect written outside the
// completion module. It keeps markers in PostgreSQL with only statements
// that PostgreSQL-compatible databases commonly share: no advisory lock, no
// BRIN index and no ctid. It reuses the PostgreSQL dialect for quoting,
// placeholders, schemas and error classification, and replaces the rest.
//
// NOTE: it is tested on PostgreSQL only; that it works on a compatible
// database is the reason it exists, not a tested fact.
package pgportable

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/postgres"
)

// Dialect is the portable PostgreSQL dialect. It embeds postgres.Dialect
// for what it does not change.
type Dialect struct {
	postgres.Dialect
}

// Name returns "pgportable".
func (Dialect) Name() string { return "pgportable" }

// Capabilities are PostgreSQL's, with checkpoints limited to 16 MiB.
func (d Dialect) Capabilities() dialect.Capabilities {
	caps := d.Dialect.Capabilities()
	caps.MaxDataSize = 16 << 20
	return caps
}

// Statements deletes prune batches by primary key instead of by ctid.
func (d Dialect) Statements(t dialect.Table) dialect.Statements {
	name := dialect.QualifiedName(d, t)
	return dialect.Statements{
		InsertMarker: dialect.Statement{
			SQL: "INSERT INTO " + name + " (run_id, step, job_id, kind, data, message, created_at)" +
				" VALUES ($1, $2, $3, $4, $5, $6, current_timestamp) ON CONFLICT (run_id, step) DO NOTHING",
			Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep, dialect.ArgJobID, dialect.ArgKind, dialect.ArgData, dialect.ArgMessage},
		},
		SelectMarker: dialect.Statement{
			SQL:  "SELECT kind, job_id, data, message, created_at FROM " + name + " WHERE run_id = $1 AND step = $2",
			Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep},
		},
		PruneBatch: dialect.Statement{
			SQL: "DELETE FROM " + name + " WHERE (run_id, step) IN (SELECT run_id, step FROM " + name +
				" WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
			Args: []dialect.Arg{dialect.ArgBefore, dialect.ArgLimit},
		},
	}
}

// createAttempts bounds how often EnsureTable retries when a concurrent
// caller created the table or its type first.
const createAttempts = 5

// EnsureTable creates the table with IF NOT EXISTS statements. Without an
// advisory lock, concurrent callers can collide in PostgreSQL's catalog: the
// loser gets a unique violation (23505) or finds the table or its row type
// already created (42P07, 42710). A retry then finds the table. The
// conformance case schema/concurrent-ensure-table caught the last two.
func (d Dialect) EnsureTable(ctx context.Context, db *sql.DB, t dialect.Table) error {
	var err error
	for range createAttempts {
		if err = d.create(ctx, db, t); err == nil || !isCreateCollision(err) {
			return err
		}
	}
	return fmt.Errorf("create table %s: still colliding with concurrent callers after %d attempts: %w", dialect.QualifiedName(d, t), createAttempts, err)
}

func isCreateCollision(err error) bool {
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.SQLState() {
	case "23505", "42P07", "42710":
		return true
	}
	return false
}

func (d Dialect) create(ctx context.Context, db *sql.DB, t dialect.Table) error {
	name := dialect.QualifiedName(d, t)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS " + name + ` (
			run_id     text        NOT NULL,
			step       text        NOT NULL,
			job_id     text        NOT NULL DEFAULT '',
			kind       text        NOT NULL,
			data       bytea,
			message    text,
			created_at timestamptz NOT NULL,
			PRIMARY KEY (run_id, step))`,
		"CREATE INDEX IF NOT EXISTS " + d.QuoteIdentifier(t.Name+"_created_at") + " ON " + name + " (created_at)",
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}
