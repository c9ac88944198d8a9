package mysql

import (
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/store"
)

// Server error numbers that Classify recognizes.
const (
	errRecordChanged    = 1020 // ER_CHECKREAD, with innodb_snapshot_isolation on
	errServerShutdown   = 1053 // ER_SERVER_SHUTDOWN
	errDuplicateKey     = 1062 // ER_DUP_ENTRY
	errLockWaitTimeout  = 1205 // ER_LOCK_WAIT_TIMEOUT
	errDeadlock         = 1213 // ER_LOCK_DEADLOCK
	errQueryInterrupted = 1317 // ER_QUERY_INTERRUPTED, after KILL QUERY
	errConnectionKilled = 1927 // ER_CONNECTION_KILLED, MariaDB
	errStatementTimeout = 1969 // ER_STATEMENT_TIMEOUT, MariaDB's max_statement_time
	errQueryTimeout     = 3024 // ER_QUERY_TIMEOUT, MySQL's max_execution_time
	errClientInactivity = 4031 // ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8.0.24
	errClientServerGone = 2006 // CR_SERVER_GONE_ERROR
	errClientServerLost = 2013 // CR_SERVER_LOST
)

// Classify classifies *mysql.MySQLError values by error number, and the
// driver's ErrInvalidConn, driver.ErrBadConn and network errors as a lost
// connection. It ignores SQLSTATE because the servers report unrelated
// errors under one state: 1153, a packet over max_allowed_packet that no
// retry fixes, comes as 08S01 like a lost connection.
func (Dialect) Classify(err error) dialect.Class {
	var serverErr *mysql.MySQLError
	if errors.As(err, &serverErr) {
		switch serverErr.Number {
		case errDuplicateKey:
			return dialect.ClassUniqueViolation
		case errDeadlock:
			return dialect.ClassDeadlock
		case errLockWaitTimeout:
			return dialect.ClassLockTimeout
		case errRecordChanged:
			return dialect.ClassSerialization
		case errQueryInterrupted, errStatementTimeout, errQueryTimeout:
			return dialect.ClassCanceled
		case errServerShutdown, errConnectionKilled, errClientInactivity, errClientServerGone, errClientServerLost:
			return dialect.ClassConnection
		}
		return dialect.ClassOther
	}
	if errors.Is(err, mysql.ErrInvalidConn) || store.IsConnectionError(err) {
		return dialect.ClassConnection
	}
	return dialect.ClassOther
}
