package pgfault

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUpstream(t *testing.T) {
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"url with host and port", "postgres://u@127.0.0.1:6543/db", "127.0.0.1:6543"},
		{"url without port", "postgresql://u@127.0.0.1/db", "127.0.0.1:5432"},
		{"url with ipv6 host", "postgres://u@[::1]:5433/db", "[::1]:5433"},
		{"url with socket directory", "postgres://u@/db?host=/run/postgresql", "127.0.0.1:5432"},
		{"key value with port", "host=127.0.0.1 port=6000 user=u", "127.0.0.1:6000"},
		{"key value without host", "user=u dbname=db", "127.0.0.1:5432"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Upstream(tc.dsn)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUpstreamRejectsSeveralHosts(t *testing.T) {
	_, err := Upstream("postgres://u@a:1,b:2/db")
	require.EqualError(t, err, "DSN names several hosts; give the fault proxy one")
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"url keeps user and database", "postgres://u:pw@127.0.0.1:5432/db?sslmode=require",
			"postgres://u:pw@127.0.0.1:7000/db?sslmode=disable"},
		{"url drops host parameter", "postgres://u@/db?host=/tmp&port=5",
			"postgres://u@127.0.0.1:7000/db?sslmode=disable"},
		{"key value replaces host", "host=db.local port=5432 user=u sslmode=verify-full",
			"user=u host=127.0.0.1 port=7000 sslmode=disable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rewrite(tc.dsn, "127.0.0.1:7000")
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestOpenRejectsRequiredTLS(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u@127.0.0.1:1/db?sslmode=require",
		"host=127.0.0.1 port=1 sslmode=verify-full",
	} {
		_, _, err := Open(t.Context(), dsn, nil)
		require.ErrorIs(t, err, ErrTLSRequired, dsn)
	}
}
