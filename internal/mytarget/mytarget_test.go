package mytarget

import (
	"context"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"password", "user:secret@tcp(127.0.0.1:3306)/db", "user:xxxxx@tcp(127.0.0.1:3306)/db"},
		{"no password", "root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"empty password", "root:@tcp(127.0.0.1:3306)/test", "root:@tcp(127.0.0.1:3306)/test"},
		{"password with separators", "user:p:a@s/s@tcp(127.0.0.1:3306)/db?parseTime=true", "user:xxxxx@tcp(127.0.0.1:3306)/db?parseTime=true"},
		{"no user", "tcp(127.0.0.1:3306)/db", "tcp(127.0.0.1:3306)/db"},
		{"only database", "/db", "/db"},
		{"not a DSN", "secret", "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Redact(tc.dsn))
		})
	}
}

func TestSplitPasswordMatchesDriver(t *testing.T) {
	for _, dsn := range []string{
		"user:secret@tcp(127.0.0.1:3306)/db",
		"user:p:a@s/s@tcp(127.0.0.1:3306)/db?parseTime=true",
		"u@v:w@tcp(127.0.0.1:3306)/db",
		"root@tcp(127.0.0.1:3306)/test",
	} {
		cfg, err := mysql.ParseDSN(dsn)
		require.NoError(t, err, dsn)
		_, password, _, _ := splitPassword(dsn)
		require.Equal(t, cfg.Passwd, password, dsn)
	}
}

func TestPasswords(t *testing.T) {
	require.Equal(t, []string{"p:a@s/s"}, Passwords("user:p:a@s/s@tcp(127.0.0.1:3306)/db"))
	require.Nil(t, Passwords("root@tcp(127.0.0.1:3306)/test"))
	require.Nil(t, Passwords("root:@tcp(127.0.0.1:3306)/test"))
}

func TestFindOrder(t *testing.T) {
	t.Setenv(EnvDSN, "from-env:secret@tcp(127.0.0.1:1)/db")
	_, _, err := Find(context.Background(), "flag:hidden@tcp(127.0.0.1:1)/db")
	require.ErrorIs(t, err, ErrNoDatabase)
	require.Contains(t, err.Error(), "flag:xxxxx@tcp(127.0.0.1:1)/db from -dsn flag")
	require.NotContains(t, err.Error(), "hidden")

	_, _, err = Find(context.Background(), "")
	require.ErrorIs(t, err, ErrNoDatabase)
	require.Contains(t, err.Error(), "from-env:xxxxx@tcp(127.0.0.1:1)/db from MYSQL_DSN")
	require.NotContains(t, err.Error(), "secret")
	require.Contains(t, err.Error(), "set MYSQL_DSN")
}

func TestFindRejectsInvalidDSN(t *testing.T) {
	_, _, err := Find(context.Background(), "user:hidden@tcp(127.0.0.1:3306/db")
	require.ErrorIs(t, err, ErrNoDatabase)
	require.Contains(t, err.Error(), "invalid DSN")
	require.NotContains(t, err.Error(), "hidden")
}

func TestFindDefault(t *testing.T) {
	t.Setenv(EnvDSN, "")
	dsn, source, err := Find(context.Background(), "")
	if err != nil {
		// The local default may have no server, and the error must name it.
		require.ErrorIs(t, err, ErrNoDatabase)
		require.Contains(t, err.Error(), DefaultDSN+" from local default")
		return
	}
	require.Equal(t, DefaultDSN, dsn)
	require.Equal(t, "local default", source)
}
