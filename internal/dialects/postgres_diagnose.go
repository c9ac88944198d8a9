package dialects

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// pointElsewhere is the advice for a server that cannot be reached.
const pointElsewhere = "point the binary at a running server with -dsn URL or DATABASE_URL. " +
	"With neither set, and no PG* variable, it starts a throwaway server itself"

// server describes where a DSN points, as far as it parses.
type server struct {
	host     string
	port     uint16
	user     string
	database string
}

// parseServer returns where dsn points, with pgconn's defaults for what it
// leaves out. It returns the zero server when dsn does not parse.
func parseServer(dsn string) server {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return server{}
	}
	return server{host: cfg.Host, port: cfg.Port, user: cfg.User, database: cfg.Database}
}

// address returns "host:port", or the socket path for a Unix socket.
func (s server) address() string {
	switch {
	case s.host == "":
		return "the server"
	case strings.HasPrefix(s.host, "/"):
		return fmt.Sprintf("Unix socket %s/.s.PGSQL.%d", s.host, s.port)
	default:
		return net.JoinHostPort(s.host, strconv.Itoa(int(s.port)))
	}
}

// diagnosePostgres names the problem behind a setup error on the
// PostgreSQL at dsn and what fixes it.
func diagnosePostgres(err error, dsn string) (problem, fix string) {
	return diagnose(err, parseServer(dsn))
}

// diagnose names the problem behind a setup error and what fixes it.
func diagnose(err error, srv server) (problem, fix string) {
	addr := srv.address()
	var dnsErr *net.DNSError
	var netErr net.Error
	var coded interface{ SQLState() string }
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "cannot connect to " + addr + ": nothing answered there (connection refused)",
			"start PostgreSQL at " + addr + ", or " + pointElsewhere
	case errors.Is(err, syscall.ENOENT) && strings.HasPrefix(srv.host, "/"):
		return "cannot connect to " + addr + ": the socket does not exist",
			"start PostgreSQL with that socket directory and port, or " + pointElsewhere
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve the host %q", dnsErr.Name),
			"correct the host in the DSN, or " + pointElsewhere
	case errors.As(err, &netErr) && netErr.Timeout():
		return "connecting to " + addr + " timed out",
			"check that PostgreSQL runs there and that no firewall drops the connection, or " + pointElsewhere
	case errors.As(err, &coded):
		if problem, fix, ok := diagnoseSQLState(coded.SQLState(), srv); ok {
			return problem, fix
		}
	case strings.Contains(err.Error(), "SSL is not enabled on the server"),
		strings.Contains(err.Error(), "server refused TLS connection"):
		return "the server at " + addr + " does not accept SSL connections",
			"add sslmode=disable to the DSN"
	}
	return "cannot open or prepare the database at " + addr,
		"check that the DSN points at a running PostgreSQL server that accepts the user, " +
			"and read the driver error below"
}

// diagnoseSQLState names the problem behind a server error with SQLSTATE
// code. It returns false for a code it has no advice for.
func diagnoseSQLState(code string, srv server) (problem, fix string, ok bool) {
	addr := srv.address()
	switch code {
	case "28P01", "28000": // invalid_password, invalid_authorization_specification
		return fmt.Sprintf("the server at %s rejected user %q", addr, srv.user),
			"check the user name and password in the DSN, or the server's pg_hba.conf entry for this client", true
	case "3D000": // invalid_catalog_name
		return fmt.Sprintf("database %q does not exist at %s", srv.database, addr),
			"create it with createdb, or name an existing database in the DSN", true
	case "42501": // insufficient_privilege
		return fmt.Sprintf("user %q may not create a schema in database %q", srv.user, srv.database),
			"grant the user CREATE on the database, or point the binary at a database where it may create " +
				"schemas, because each run works in a schema of its own", true
	case "53300": // too_many_connections
		return "the server at " + addr + " has no free connection slot",
			"close idle connections or raise max_connections, then run again", true
	case "57P03": // cannot_connect_now
		return "the server at " + addr + " is starting up or shutting down",
			"wait until it accepts connections, then run again", true
	}
	return "", "", false
}
