// Package sqlite keeps exactly-once outcomes for background jobs whose
// business state lives in SQLite.
//
// A job runner delivers each run of a job at least once. A handler that
// writes its business rows and a completion marker for the run in one
// transaction makes the outcome exactly-once: a redelivered run finds the
// marker, gets ErrAlreadyCompleted, and does nothing.
//
//	ctx = store.WithRun(ctx, runID, jobID)
//	err := sqlite.RunTx(ctx, db, nil, func(tx *sql.Tx) error {
//		if _, err := tx.ExecContext(ctx, "INSERT INTO invoices ...", ...); err != nil {
//			return err
//		}
//		return sqlite.CompleteTx(ctx, tx) // ErrAlreadyCompleted: RunTx rolls back and returns nil
//	})
//
// The functions, their errors and the outcome and checkpoint rules are
// those of package postgres, and the methods of store.Store state each
// contract. This documentation states what differs.
//
// # Driver and DSN
//
// The package imports no driver. It is built and tested with
// modernc.org/sqlite, a SQLite compiled to Go that needs no cgo, which
// registers the database/sql driver "sqlite". Open the database with these
// settings:
//
//	file:/path/to/jobs.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate
//
// Each setting has a reason:
//
//   - busy_timeout(5000) makes a connection wait up to 5 seconds for
//     another connection's write lock. Without it, every writer that meets
//     the lock fails at once with SQLITE_BUSY ("database is locked").
//   - journal_mode(WAL) lets readers, such as IsCompleted and Outcome, run
//     while a transaction writes, and lets a commit proceed while readers
//     read. The mode is stored in the database file.
//   - _txlock=immediate makes BeginTx run BEGIN IMMEDIATE, which takes the
//     write lock at once and waits for it under busy_timeout. With the
//     default, BEGIN DEFERRED, a transaction that reads before it writes
//     must upgrade its lock at the first write, and SQLite returns
//     SQLITE_BUSY at once, without waiting, when another connection holds
//     the write lock. Transactions with TxOptions.ReadOnly still begin
//     deferred.
//
// The driver writes a bound time.Time as text whose form its DSN sets.
// Prune reads its cutoff from the default form, from
// _time_format=sqlite and from any _timezone. With _time_integer_format
// set, the cutoff is an integer of unknown unit, and Prune on a table with
// markers returns an error that names the setting.
//
// NOTE: _time_format=datetime drops the cutoff's fraction of a second and
// its zone, so Prune keeps markers up to one second older than the cutoff,
// and combined with a _timezone other than UTC it shifts the cutoff by
// the zone's offset. Do not combine the two.
//
// The dialect classifies driver errors by SQLite's extended result code,
// read through a Code() int method, which modernc.org/sqlite's
// *sqlite.Error has. The error types of other SQLite drivers that lack
// such a method are not classified, so their SQLITE_BUSY errors are not
// retryable.
//
// # Transactions and races
//
// SQLite lets one transaction write at a time, and every transaction is
// serializable. modernc.org/sqlite accepts any isolation level in BeginTx
// and ignores it, so READ COMMITTED gives a serializable transaction too.
//
// Two transactions racing on one run still commit exactly one outcome.
// With _txlock=immediate the second waits at BEGIN until the first ends,
// then gets the sentinel, or records the outcome when the first rolled
// back. When a transaction cannot get the write lock, because
// busy_timeout ran out or because a deferred transaction had to upgrade
// its lock, the error is SQLITE_BUSY, and SQLITE_LOCKED within a shared
// cache. store.IsRetryable reports both as retryable, including the raw
// driver errors of BeginTx, Commit and the caller's own statements, and
// RunTx retries the whole transaction. When the caller's context is done
// while a connection waits for the lock, the wait ends and the error
// matches context.Canceled or context.DeadlineExceeded.
//
// An embedded database has no connection to lose, so the lost COMMIT
// reply that package postgres guards against does not occur. A commit is
// durable once it returns at SQLite's default synchronous=FULL. With
// synchronous=NORMAL in WAL mode, a power loss can roll back the last
// commits, markers and business rows together, after the job runner has
// recorded them as done.
//
// # Checkpoints
//
// Data is limited to store.DefaultMaxDataSize (16 MiB) unless
// store.WithMaxDataSize sets another limit, up to MaxDataSize, SQLite's
// maximum row size of 1,000,000,000 bytes less the room for the rest of the
// row. Storing and reading a value takes several times its size in memory,
// because the driver and SQLite each copy it: TestMaxDataSizeRoundTrip,
// which stores and reads MaxDataSize bytes, peaked at 2.9 GB resident and
// took 10 s to write and 5 s to read on a 2-vCPU Linux virtual machine.
//
// # Table
//
// The package-level functions use the table dureq_completions in the
// connection's main database. SQLite has no schemas, so New rejects
// store.WithSchema; use store.WithTable or another database file for a
// separate set of markers. Table names are quoted and may be any valid
// UTF-8 without NUL bytes, but SQLite compares them without regard to
// ASCII case, so "Markers" and "markers" name one table, and it reserves
// names that start with "sqlite_".
//
// The table is a STRICT table with the primary key (run_id, step); the
// outcome is stored under the empty step, which checkpoints cannot use. Its
// other columns are job_id, kind ('completed', 'failed' or 'checkpoint'),
// data (BLOB), message, and created_at, the text of the database clock in
// UTC with milliseconds, such as "2026-01-02 15:04:05.123". An index called
// the table's name followed by "_created_at" lets Prune read the oldest
// markers first.
//
// EnsureTable creates the table and the index. It is idempotent and sends
// one query and no writes when both exist, so a connection with
// _query_only=1 may call it. Otherwise it takes the write lock with BEGIN
// IMMEDIATE on a connection of its own, checks again, and creates what is
// missing, so concurrent callers in any number of processes create the
// table once. There is no earlier layout to upgrade: a table of that name
// with other columns is an error.
//
// # Pruning
//
// Prune deletes markers older than a given time in batches of
// store.DefaultPruneBatchSize rows, each its own statement. SQLite locks
// the whole database, not rows, so each batch waits for the write lock like
// any writer and holds it while it runs. Pruning a run's outcome lets a
// redelivered run execute again: keep markers longer than your job
// runner's longest redelivery window.
package sqlite
