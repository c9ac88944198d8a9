// Package postgres keeps exactly-once outcomes for background jobs whose
// business state lives in PostgreSQL.
//
// A job runner delivers each run of a job at least once. A handler that
// writes its business rows and a completion marker for the run in one
// transaction makes the outcome exactly-once: a redelivered run finds the
// marker, gets ErrAlreadyCompleted, and does nothing.
//
//	ctx = store.WithRun(ctx, runID, jobID)
//	tx, err := db.BeginTx(ctx, nil)
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback()
//	if _, err := tx.ExecContext(ctx, "INSERT INTO charges ...", ...); err != nil {
//		return err
//	}
//	if err := postgres.CompleteTx(ctx, tx); errors.Is(err, postgres.ErrAlreadyCompleted) {
//		return nil // an earlier delivery did the work; this one commits nothing new
//	} else if err != nil {
//		return err
//	}
//	return tx.Commit()
//
// # Drivers
//
// The package imports no driver. Open the database with
// github.com/jackc/pgx/v5/stdlib ("pgx") or github.com/lib/pq ("postgres");
// both behave the same, which the conformance suite checks for every rule.
//
// With lib/pq, add binary_parameters=yes to the connection string. Without
// it, lib/pq v1.12.3 sends each statement with parameters in two round
// trips: Parse and Describe, then Bind and Execute after the server's
// reply. With it, lib/pq sends them at once, and checkpoint data travels as
// raw bytes instead of hex. pgx needs no setting, because it prepares each
// statement once per connection. The option sends every []byte parameter of
// the connection in binary format, which PostgreSQL rejects for jsonb and
// uuid parameters, so bind JSON and UUIDs as strings. docs/benchmarks.md
// has the measurements, and docs/pgbouncer.md the settings that work behind
// PgBouncer.
//
// # Outcomes
//
// A run has at most one outcome, completed or failed, and the first
// transaction that commits one wins. CompleteTx and FailTx return
// ErrAlreadyCompleted or an error matching ErrAlreadyFailed when the run
// already has an outcome. Neither aborts the transaction: the caller may
// still commit or roll back. At READ COMMITTED a racing transaction waits for
// the winner and then gets the sentinel. At REPEATABLE READ or SERIALIZABLE
// it may instead get a serialization failure, for which store.IsRetryable is
// true, and a retry of the whole transaction gets the sentinel.
//
// FailTx stores the error's message with invalid UTF-8 and NUL bytes
// replaced by U+FFFD, cut to store.DefaultMaxMessageSize (4096) bytes unless
// store.WithMaxMessageSize sets another limit. Outcome reads it back.
//
// # Checkpoints
//
// CheckpointTx records data under a named step of the run, so that a
// handler that does its work in several transactions can skip the steps an
// earlier delivery finished. The first checkpoint of a step wins and is
// never overwritten; a second returns ErrAlreadyCheckpointed. Data is read
// back byte-identical; nil reads back as nil, and an empty slice as an empty
// non-nil slice. Data is limited to store.DefaultMaxDataSize (16 MiB) unless
// store.WithMaxDataSize sets another limit, up to MaxDataSize (256 MiB).
//
// # Validation
//
// Every call reads the run ID and job ID from its context. A missing or
// empty run ID returns ErrNoRun. Run IDs, job IDs and step names must be
// valid UTF-8 without NUL bytes and at most 255 bytes. Anything else returns
// an error matching ErrInvalid. Both are returned before any SQL is sent, so
// bad input never aborts the caller's transaction.
//
// # Lost connections and retries
//
// store.IsRetryable reports a serialization failure, a deadlock, a session
// the server ended (for example by idle_in_transaction_session_timeout) and
// a lost connection, also one lost while COMMIT was in flight. In that last
// case the caller cannot tell whether the transaction committed, but
// retrying the whole run is still safe: if the marker committed, the retry
// gets ErrAlreadyCompleted and writes nothing. This is the guarantee the
// package exists for.
//
// When the caller's context is done, the returned error matches
// context.Canceled or context.DeadlineExceeded, whatever the driver
// reported.
//
// # Table
//
// The package-level functions use the table dureq_completions in the
// connection's search_path. New builds a Store with another table or schema
// (see store.WithTable and store.WithSchema) or a run resolver that reads
// the run from a job runner's own context keys (store.WithRunResolver).
// Names are quoted, so any name up to PostgreSQL's 63-byte limit works.
//
// The table's primary key is (run_id, step); the outcome is stored under
// the empty step, which checkpoints cannot use. Its other columns are
// job_id, kind ('completed', 'failed' or 'checkpoint'), data (bytea),
// message, and created_at, taken from the database clock and returned in
// UTC. A B-tree index on created_at serves Prune. kind has no CHECK
// constraint, because one costs each insert about 5 µs of server time
// (measured on PostgreSQL 15, docs/benchmarks.md).
//
// EnsureTable creates the table. It is idempotent, sends only one catalog
// query and no DDL when the table exists (so a role without DDL rights may
// call it), and serializes concurrent callers with a transaction-level
// advisory lock, because concurrent CREATE TABLE IF NOT EXISTS can fail in
// PostgreSQL. It upgrades a table of the earlier layout (run_id, job_id,
// step, data JSONB, completed_at) in place without losing a row: the row
// under the empty step becomes the completed outcome; for a run without
// one, the earliest row whose step starts with "failed:" becomes the failed
// outcome, with the rest of the step as its message; every other row
// becomes a checkpoint. JSON data reads back as PostgreSQL's normalized JSONB
// text, because the original bytes are gone. EnsureTable also upgrades a
// table that an earlier version created with a BRIN index on created_at and
// a CHECK on kind: it builds the B-tree index, which blocks writes to the
// table while it runs, and drops the other two.
//
// # Pruning
//
// Prune deletes markers older than a given time in batches of
// store.DefaultPruneBatchSize rows, each its own statement, so it never holds
// locks long on a large table. Each batch reads the index on created_at from
// the oldest marker and stops at the cutoff, so its time does not grow with
// the table. While a long transaction holds back the xmin horizon, each
// batch reads again the entries of markers that earlier batches deleted,
// and batches grow longer. Pruning a run's outcome lets a redelivered
// run execute again: keep markers longer than your job runner's longest
// redelivery window.
package postgres
