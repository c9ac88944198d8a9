package pgfault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrTLSRequired is returned by Open for a DSN whose sslmode requires
// encryption, because the proxy forwards connections in plain text and
// would otherwise send them, passwords included, unencrypted.
var ErrTLSRequired = errors.New("fault proxy needs an unencrypted connection")

// Open starts a proxy in front of the server that dsn names and opens a
// database handle with open, such as a wrapper of sql.Open, on a DSN whose
// connections go through the proxy. The caller closes the handle, then the
// proxy.
func Open(ctx context.Context, dsn string, open func(dsn string) (*sql.DB, error)) (*sql.DB, *Proxy, error) {
	if mode := sslMode(dsn); mode == "require" || mode == "verify-ca" || mode == "verify-full" {
		return nil, nil, fmt.Errorf("%w: the proxy cannot read or forward an encrypted connection, and the DSN asks for sslmode=%s",
			ErrTLSRequired, mode)
	}
	upstream, err := Upstream(dsn)
	if err != nil {
		return nil, nil, err
	}
	proxy, err := Start(upstream)
	if err != nil {
		return nil, nil, err
	}
	proxied, err := Rewrite(dsn, proxy.Addr())
	if err != nil {
		proxy.Close()
		return nil, nil, err
	}
	db, err := open(proxied)
	if err != nil {
		proxy.Close()
		return nil, nil, fmt.Errorf("open database through the fault proxy: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		proxy.Close()
		return nil, nil, fmt.Errorf("connect through the fault proxy to %s: %w", upstream, err)
	}
	return db, proxy, nil
}
