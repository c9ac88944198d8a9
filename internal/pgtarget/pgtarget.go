// Package pgtarget finds a PostgreSQL server for the conformance binary and
// the module's tests, or starts a throwaway one.
//
// Find tries, in order: an explicit DSN, DATABASE_URL, the PG* environment
// variables, the installed PostgreSQL server binaries and, last,
// testcontainers with a Docker engine.
package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"sync"
)

// Values of Target.Source for the sources that need no server start.
const (
	sourceFlag        = "-dsn flag"
	sourceDatabaseURL = "DATABASE_URL"
	sourcePGEnv       = "PG* environment variables"
	sourceContainer   = "testcontainers"
)

// ErrNoDatabase is the error that Find wraps when it finds no server to
// connect to and has no way to start one.
var ErrNoDatabase = errors.New("dureq: no PostgreSQL server found")

// Target is a PostgreSQL server to connect to.
type Target struct {
	// DSN is a postgres:// URL that both pgx's stdlib and lib/pq accept.
	// A DSN from the -dsn flag or DATABASE_URL is passed on unchanged.
	DSN string
	// Source is the origin of the DSN: "-dsn flag", "DATABASE_URL",
	// "PG* environment variables", "PostgreSQL binaries in <dir>" or
	// "testcontainers".
	Source string

	// stop stops and removes the server that Find started, or is nil.
	stop func() error
	// dir is the temporary directory of a server started from the
	// installed binaries, or empty.
	dir string
	// server is the server started from the installed binaries, or nil.
	server    *server
	closeOnce sync.Once
	closeErr  error
}

// Find returns the PostgreSQL server to connect to. It takes the first of:
//   - dsn, when it is not empty (the value of a -dsn flag);
//   - DATABASE_URL;
//   - a URL built from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and
//     PGSSLMODE, when at least one of PGHOST, PGPORT, PGDATABASE and PGUSER
//     is set;
//   - a throwaway server started from initdb and pg_ctl on PATH or, newest
//     version first, under /usr/lib/postgresql/*/bin;
//   - a container started with testcontainers, when a Docker engine responds.
//
// The caller must call Close on the returned Target. When none of these is
// available, the error wraps ErrNoDatabase and lists the ways to provide a
// server. Empty environment variables count as unset.
func Find(ctx context.Context, dsn string) (*Target, error) {
	if dsn != "" {
		return &Target{DSN: dsn, Source: sourceFlag}, nil
	}
	if databaseURL := os.Getenv("DATABASE_URL"); databaseURL != "" {
		return &Target{DSN: databaseURL, Source: sourceDatabaseURL}, nil
	}
	envDSN, ok, err := dsnFromPGEnv()
	if err != nil {
		return nil, fmt.Errorf("dureq: build DSN from PG* environment variables: %w", err)
	}
	if ok {
		return &Target{DSN: envDSN, Source: sourcePGEnv}, nil
	}

	bin, binErr := findBinaries()
	if binErr == nil {
		return startServer(ctx, bin)
	}

	dockerErr := dockerCheck(ctx)
	if dockerErr == nil {
		return startContainer(ctx)
	}

	return nil, fmt.Errorf("%w:\n"+
		"  - no DSN was given, and neither DATABASE_URL nor a PG* variable is set\n"+
		"  - %w\n"+
		"  - %w\n"+
		"Give it a database in one of three ways:\n"+
		"  - set -dsn or DATABASE_URL to a running server, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable\n"+
		"  - install PostgreSQL's server binaries, e.g. apt-get install postgresql\n"+
		"  - start a Docker engine, so that testcontainers can run the %s image",
		ErrNoDatabase, binErr, dockerErr, containerImage)
}

// Close stops and removes the server that Find started. For a DSN that Find
// only passed on, it does nothing. Later calls return the first call's error.
func (t *Target) Close() error {
	if t == nil {
		return nil
	}
	t.closeOnce.Do(func() {
		if t.stop == nil {
			return
		}
		defer started.Delete(t)
		if err := t.stop(); err != nil {
			t.closeErr = fmt.Errorf("dureq: close server from %s: %w", t.Source, err)
		}
	})
	return t.closeErr
}

// started holds the targets whose servers this process started and has not
// closed yet, so that a signal handler can stop them all.
var started sync.Map

func startedTargets() []*Target {
	var targets []*Target
	started.Range(func(k, _ any) bool {
		targets = append(targets, k.(*Target))
		return true
	})
	return targets
}

// dsnFromPGEnv builds a URL from the PG* variables that libpq reads. It
// reports false when none of PGHOST, PGPORT, PGDATABASE and PGUSER is set.
// Unset values get libpq's defaults, except that the host defaults to
// localhost over TCP (as in lib/pq) instead of a Unix socket.
func dsnFromPGEnv() (string, bool, error) {
	host := os.Getenv("PGHOST")
	port := os.Getenv("PGPORT")
	userName := os.Getenv("PGUSER")
	database := os.Getenv("PGDATABASE")
	if host == "" && port == "" && userName == "" && database == "" {
		return "", false, nil
	}

	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "5432"
	}
	if userName == "" {
		current, err := user.Current()
		if err != nil {
			return "", false, fmt.Errorf("PGUSER is not set and looking up the current OS user failed: %w", err)
		}
		userName = current.Username
	}
	if database == "" {
		database = userName
	}

	// lib/pq defaults to sslmode=require, so the URL states libpq's default
	// of prefer when PGSSLMODE is not set.
	sslMode := os.Getenv("PGSSLMODE")
	if sslMode == "" {
		sslMode = "prefer"
	}

	query := url.Values{}
	query.Set("sslmode", sslMode)

	u := &url.URL{Scheme: "postgres", Path: "/" + database}
	if password, ok := os.LookupEnv("PGPASSWORD"); ok && password != "" {
		u.User = url.UserPassword(userName, password)
	} else {
		u.User = url.User(userName)
	}

	// A PGHOST that starts with a slash is a Unix socket directory, which
	// both drivers take from the host query parameter.
	if host[0] == '/' {
		query.Set("host", host)
		query.Set("port", port)
	} else {
		u.Host = net.JoinHostPort(host, port)
	}
	u.RawQuery = query.Encode()
	return u.String(), true, nil
}
