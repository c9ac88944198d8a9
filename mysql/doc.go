// Package mysql keeps exactly-once outcomes for background jobs whose
// business state lives in MySQL or MariaDB, with the InnoDB engine.
//
// It offers the same functions, with the same rules, as package postgres:
// a handler writes its business rows and a completion marker for the run
// in one transaction, and a redelivered run finds the marker, gets
// ErrAlreadyCompleted, and does nothing.
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
//	if err := mysql.CompleteTx(ctx, tx); errors.Is(err, mysql.ErrAlreadyCompleted) {
//		return nil // an earlier delivery did the work; this one commits nothing new
//	} else if err != nil {
//		return err
//	}
//	return tx.Commit()
//
// This documentation states what differs from package postgres. The rules
// for outcomes, checkpoints, validation and retries are the same.
//
// # Driver and servers
//
// The dialect is for github.com/go-sql-driver/mysql, which registers the
// database/sql driver "mysql" and takes DSNs such as
// user:password@tcp(127.0.0.1:3306)/dbname. It needs no DSN parameters:
// parseTime and clientFoundRows may be set either way. The driver's loc
// parameter must stay UTC, its default (see Time below), and a connection
// character set other than utf8mb4 can change failure messages (see
// Table).
//
// Prune uses SKIP LOCKED, so the server must be MySQL 8.0.1 or later or
// MariaDB 10.6 or later. NOTE: the tests run on MariaDB 10.11 only; MySQL
// has not been run.
//
// # Table
//
// The package-level functions use the table dureq_completions in the
// connection's default database; store.WithSchema names another database.
// Names are quoted with backticks and may be up to 64 characters of the
// Basic Multilingual Plane, without a trailing space.
//
// The run ID, step and job ID are VARBINARY(255) columns, compared byte by
// byte: "A" and "a" are different runs, and so are "a" and "a " (a
// utf8mb4_bin column would ignore the trailing space, because it pads). No
// connection character set can change them. Data is a LONGBLOB, the message
// is LONGTEXT in utf8mb4, and created_at is a DATETIME(6). The primary key
// is (run_id, step), and an index on created_at serves Prune. The table
// must use InnoDB; EnsureTable rejects a table of another engine, because
// only InnoDB has transactions.
//
// A failure message is read back as utf8mb4 whatever the connection's
// character set. It is written through the connection's character set,
// though, so under one that cannot encode a character, such as the 3-byte
// utf8, the server stores that character as "?". The driver's default,
// utf8mb4, encodes every message.
//
// # Row counts
//
// InsertMarker is INSERT IGNORE. It reports one affected row when it
// inserted the marker and zero for a duplicate key, also when the DSN sets
// clientFoundRows=true. INSERT ... ON DUPLICATE KEY UPDATE would report a
// duplicate as one row under clientFoundRows, so it cannot tell the two
// apart. IGNORE never hides a duplicate of another key, because the table
// has only the primary key, and it never truncates a value the store
// accepts, because the columns hold every such value.
//
// # Data size
//
// A LONGBLOB holds 4 GiB, but the server rejects any statement or result
// row larger than its max_allowed_packet. Dialect.MaxDataSize is therefore
// MaxAllowedPacket less 64 KiB for the rest of the row. The zero Dialect,
// which New and the package-level functions use, assumes 16 MiB, MariaDB's
// default, so checkpoints are limited to 16 MiB - 64 KiB, less than
// store.DefaultMaxDataSize. On a server with a larger max_allowed_packet
// (MySQL 8.0 defaults to 64 MiB), build the store with
// store.New(mysql.Dialect{MaxAllowedPacket: n}) and store.WithMaxDataSize.
//
// The limit assumes the driver's default of sending data as binary
// parameters. With interpolateParams=true the driver escapes data into the
// statement text, where it can take up to twice its size, so keep
// checkpoints below half of max_allowed_packet or lower the limit with
// store.WithMaxDataSize. A statement over max_allowed_packet makes the
// server close the connection, which the store reports as a lost
// connection, so a retry fails the same way.
//
// # Isolation levels
//
// REPEATABLE READ is InnoDB's default; READ COMMITTED and SERIALIZABLE keep
// the rules too. At REPEATABLE READ, INSERT IGNORE finds a duplicate that
// another transaction committed after this transaction's snapshot, but the
// SELECT that follows reads the snapshot and finds no row. The store then
// returns an error for which store.IsRetryable is true, and a retry of the
// whole transaction gets the sentinel. InnoDB takes the snapshot at the
// first plain SELECT of a transaction, so this happens only to a handler
// that reads before it completes the run. With MariaDB's
// innodb_snapshot_isolation on, the INSERT IGNORE itself fails with error
// 1020, which is retryable too.
//
// SelectMarker stays a plain, consistent read. A locking read (LOCK IN
// SHARE MODE) would let the loser see the winner at once, but it also makes
// IsCompleted in a transaction take shared locks that block other writers.
// In a measurement on MariaDB 10.11, 10 rounds of 16 handlers at REPEATABLE
// READ that each called IsCompleted and then CompleteTx, the plain read
// cost each loser one retry (150 in all). The locking read caused 2,281
// deadlocks, and 104 of the 150 losers still had no answer after 20
// attempts. It also made the REPEATABLE READ serialization case of the
// conformance suite wait out innodb_lock_wait_timeout.
//
// # Errors
//
// Classify reads the error number of *mysql.MySQLError. 1213 (deadlock) and
// 1205 (lock wait timeout) are retryable. InnoDB rolls back only the
// statement after 1205 unless innodb_rollback_on_timeout is on, but
// store.RunTx retries the whole transaction either way. 1317 (query
// interrupted by KILL QUERY) and the statement timeouts 1969 (MariaDB) and
// 3024 (MySQL) are cancellations. The driver's ErrInvalidConn,
// driver.ErrBadConn, network errors, and 2006, 2013, 1053, 1927 and 4031
// are lost connections, and retryable. The driver reports a canceled
// context by closing the connection; the returned error still matches the
// context's error, as in package postgres.
//
// # DDL
//
// MySQL commits the open transaction before each DDL statement. EnsureTable
// therefore takes a *sql.DB, never a transaction, and runs its DDL on a
// connection of its own. When the table exists with its index it sends one
// information_schema query and no DDL. Otherwise it serializes concurrent
// callers with GET_LOCK on that connection, keyed by a hash of the
// database and table name, checks again, creates what is missing, and
// releases the lock. No earlier layout of the table exists on MySQL, so
// there is nothing to upgrade.
//
// # Time
//
// created_at is taken from UTC_TIMESTAMP(6), not NOW(), which follows the
// session's time_zone, and is read back as text in UTC, so the session
// time zone and the driver's parseTime and loc settings do not change
// Outcome.At. Prune binds its cutoff as a time.Time, which the driver
// writes as wall-clock time in its loc. NOTE: with loc set to anything but
// UTC, Prune's cutoff is shifted by that zone's offset, and Prune deletes
// markers that are younger, or keeps markers that are older, than
// requested. Keep the driver's default loc.
//
// # Pruning
//
// Prune deletes in batches of store.DefaultPruneBatchSize rows. Each batch
// picks the oldest markers through the created_at index with FOR UPDATE
// SKIP LOCKED, so it passes over markers that an open transaction holds
// instead of waiting for them. Pruning a run's outcome lets a redelivered
// run execute again: keep markers longer than your job runner's longest
// redelivery window.
package mysql
