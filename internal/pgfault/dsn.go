package pgfault

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Upstream returns the host:port that dsn connects to, from a postgres://
// URL or a key=value string. A missing host or port means the defaults,
// 127.0.0.1 and 5432, because the proxy can only forward over TCP.
func Upstream(dsn string) (string, error) {
	host, port, err := hostPort(dsn)
	if err != nil {
		return "", err
	}
	if host == "" || strings.HasPrefix(host, "/") {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(host, port), nil
}

func hostPort(dsn string) (host, port string, err error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", fmt.Errorf("parse DSN: %w", err)
		}
		if strings.Contains(u.Host, ",") {
			return "", "", fmt.Errorf("DSN names several hosts; give the fault proxy one")
		}
		if h := u.Query().Get("host"); h != "" && u.Hostname() == "" {
			return h, u.Port(), nil
		}
		return u.Hostname(), u.Port(), nil
	}
	for _, field := range strings.Fields(dsn) {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "host":
			host = v
		case "port":
			port = v
		}
	}
	return host, port, nil
}

// sslMode returns the sslmode of dsn, or "" when it sets none.
func sslMode(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return ""
		}
		return u.Query().Get("sslmode")
	}
	for _, field := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(field, "sslmode="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// Rewrite returns dsn with its host and port replaced by addr, the proxy's
// host:port, and SSL disabled, because the proxy does not speak TLS.
func Rewrite(dsn, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("split proxy address: %w", err)
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DSN: %w", err)
		}
		u.Host = addr
		q := u.Query()
		q.Del("host")
		q.Del("port")
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	var fields []string
	for _, field := range strings.Fields(dsn) {
		k, _, _ := strings.Cut(field, "=")
		if k != "host" && k != "port" && k != "sslmode" {
			fields = append(fields, field)
		}
	}
	fields = append(fields, "host="+host, "port="+port, "sslmode=disable")
	return strings.Join(fields, " "), nil
}
