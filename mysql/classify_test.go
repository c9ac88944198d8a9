package mysql_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/mysql"
)

func TestClassify(t *testing.T) {
	serverError := func(number uint16, state string) error {
		e := &mysqldriver.MySQLError{Number: number, Message: "test"}
		copy(e.SQLState[:], state)
		return e
	}
	for _, tc := range []struct {
		name string
		err  error
		want dialect.Class
	}{
		{"duplicate key", serverError(1062, "23000"), dialect.ClassUniqueViolation},
		{"deadlock", serverError(1213, "40001"), dialect.ClassDeadlock},
		{"lock wait timeout", serverError(1205, "HY000"), dialect.ClassLockTimeout},
		{"record changed under snapshot isolation", serverError(1020, "HY000"), dialect.ClassSerialization},
		{"query interrupted", serverError(1317, "70100"), dialect.ClassCanceled},
		{"MariaDB statement timeout", serverError(1969, "70100"), dialect.ClassCanceled},
		{"MySQL statement timeout", serverError(3024, "HY000"), dialect.ClassCanceled},
		{"server gone", serverError(2006, "HY000"), dialect.ClassConnection},
		{"server lost", serverError(2013, "HY000"), dialect.ClassConnection},
		{"connection killed", serverError(1927, "70100"), dialect.ClassConnection},
		{"server shutdown", serverError(1053, "08S01"), dialect.ClassConnection},
		{"client inactivity", serverError(4031, "HY000"), dialect.ClassConnection},
		{"packet too large", serverError(1153, "08S01"), dialect.ClassOther},
		{"syntax error", serverError(1064, "42000"), dialect.ClassOther},
		{"invalid connection", mysqldriver.ErrInvalidConn, dialect.ClassConnection},
		{"bad connection", driver.ErrBadConn, dialect.ClassConnection},
		{"wrapped deadlock", fmt.Errorf("commit: %w", serverError(1213, "40001")), dialect.ClassDeadlock},
		{"wrapped invalid connection", fmt.Errorf("commit: %w", mysqldriver.ErrInvalidConn), dialect.ClassConnection},
		{"other", errors.New("boom"), dialect.ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mysql.Dialect{}.Classify(tc.err))
		})
	}
}
