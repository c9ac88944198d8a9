package pgtarget

import (
	"net/url"
	"strings"
)

// redacted is the text that replaces every password that Redact finds.
const redacted = "xxxxx"

// passwordKeys are the connection parameters whose values Redact replaces.
var passwordKeys = map[string]bool{"password": true, "sslpassword": true}

// Redact returns dsn with the values of password and sslpassword replaced by
// "xxxxx". It handles the URL form (postgres://user:password@host/db, with
// passwords in the user info or the query) and libpq's key=value form
// (host=h password=secret). For a URL that url.Parse rejects or splits at
// an unescaped character of the password, it replaces the whole user info
// and query, so such a DSN loses more than its password.
func Redact(dsn string) string {
	if strings.Contains(dsn, "://") {
		return redactURL(dsn)
	}
	return redactKeyValue(dsn)
}

func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return redactUnparsedURL(dsn)
	}
	// An "@" in the path or fragment means an unescaped password that
	// contains "/" or "#" moved text out of the user info.
	if strings.Contains(u.Path+u.Fragment, "@") {
		return redactUnparsedURL(dsn)
	}

	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return redactUnparsedURL(dsn)
	}
	changed := false
	for key := range query {
		if passwordKeys[key] {
			query[key] = []string{redacted}
			changed = true
		}
	}
	if changed {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// redactUnparsedURL replaces the user info and the query of a URL that
// url.Parse rejects. It takes the host part to start after the last "@",
// because an unescaped password may contain "@", ":", "/" or "?".
func redactUnparsedURL(dsn string) string {
	schemeEnd := strings.Index(dsn, "://") + len("://")
	rest := dsn[schemeEnd:]
	prefix := dsn[:schemeEnd]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		prefix += redacted + "@"
		rest = rest[at+1:]
	}
	if question := strings.Index(rest, "?"); question >= 0 {
		rest = rest[:question+1] + redacted
	}
	return prefix + rest
}

// redactKeyValue scans libpq's key=value form: keys and values separated by
// "=" with optional spaces around it, values either bare (ending at white
// space) or in single quotes, with backslash escapes in both. Only the
// values of password keys change. An unterminated quoted value extends to
// the end of dsn.
func redactKeyValue(dsn string) string {
	var out strings.Builder
	i := 0
	for i < len(dsn) {
		// Copy white space and the key.
		start := i
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		keyStart := i
		for i < len(dsn) && dsn[i] != '=' && !isSpace(dsn[i]) {
			i++
		}
		key := dsn[keyStart:i]
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		if i >= len(dsn) || dsn[i] != '=' {
			out.WriteString(dsn[start:i])
			continue
		}
		i++ // the "="
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		out.WriteString(dsn[start:i])

		valueEnd := scanValue(dsn, i)
		if passwordKeys[key] {
			out.WriteString(redacted)
		} else {
			out.WriteString(dsn[i:valueEnd])
		}
		i = valueEnd
	}
	return out.String()
}

// scanValue returns the index just past the value that starts at start.
func scanValue(dsn string, start int) int {
	i := start
	if i < len(dsn) && dsn[i] == '\'' {
		i++
		for i < len(dsn) {
			switch dsn[i] {
			case '\\':
				i += 2
			case '\'':
				return i + 1
			default:
				i++
			}
		}
		return len(dsn)
	}
	for i < len(dsn) && !isSpace(dsn[i]) {
		if dsn[i] == '\\' {
			i++
		}
		i++
	}
	return min(i, len(dsn))
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
