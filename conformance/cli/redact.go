package cli

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dureqsql/completion/internal/pgtarget"
)

// minRedactedLength is the length below which a password is not replaced
// wherever it occurs in a message, because replacing every "pq" or "db"
// would garble the output.
//
// NOTE: a password shorter than this is still removed from DSNs that the
// binary prints, but not from other text that happens to contain it.
const minRedactedLength = 4

// redactor removes passwords from text before the binary prints it. It
// stores the DSNs in use and replaces each of them with its redacted form,
// and each password they contain wherever it occurs, because a driver
// error may quote either.
type redactor struct {
	redactDSN     func(dsn string) string
	findPasswords func(dsn string) []string
	dsns          []string
	passwords     []string
}

// newRedactor returns a redactor that reads DSNs the way cfg does.
func newRedactor(cfg Config) *redactor {
	r := &redactor{redactDSN: cfg.Redact, findPasswords: cfg.Passwords}
	if r.redactDSN == nil {
		r.redactDSN = pgtarget.Redact
	}
	if r.findPasswords == nil {
		r.findPasswords = dsnPasswords
	}
	return r
}

// addDSN adds dsn and the password in it to what redact removes.
func (r *redactor) addDSN(dsn string) {
	if dsn == "" || slices.Contains(r.dsns, dsn) {
		return
	}
	r.dsns = append(r.dsns, dsn)
	for _, p := range r.findPasswords(dsn) {
		for _, form := range encodedForms(p) {
			if len(form) >= minRedactedLength && !slices.Contains(r.passwords, form) {
				r.passwords = append(r.passwords, form)
			}
		}
	}
	// Longer forms go first, so that a password that contains another is
	// replaced whole.
	slices.SortFunc(r.passwords, func(a, b string) int { return len(b) - len(a) })
}

// redact returns text with every known DSN redacted and every known
// password replaced by "xxxxx".
func (r *redactor) redact(text string) string {
	for _, dsn := range r.dsns {
		text = strings.ReplaceAll(text, dsn, r.redactDSN(dsn))
	}
	for _, p := range r.passwords {
		text = strings.ReplaceAll(text, p, "xxxxx")
	}
	return text
}

var (
	// urlUserInfo matches the user info of a URL up to its last "@", which
	// is where the host starts even when url.Parse rejects the URL because
	// the password contains an unescaped "@", "/" or "?".
	urlUserInfo = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://(.*)@`)
	// keyValuePassword matches a password or sslpassword in libpq's
	// key=value form, quoted or bare.
	keyValuePassword = regexp.MustCompile(`(?:^|\s)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)`)
)

// dsnPasswords returns the passwords in dsn, in either DSN form and also
// when dsn does not parse. When dsn parses with pgconn, that includes a
// password that pgconn takes from PGPASSWORD or a password file.
func dsnPasswords(dsn string) []string {
	var passwords []string
	if cfg, err := pgconn.ParseConfig(dsn); err == nil {
		passwords = append(passwords, cfg.Password)
	}
	if strings.Contains(dsn, "://") {
		if m := urlUserInfo.FindStringSubmatch(dsn); m != nil {
			if _, password, ok := strings.Cut(m[1], ":"); ok {
				passwords = append(passwords, password)
				if decoded, err := url.PathUnescape(password); err == nil {
					passwords = append(passwords, decoded)
				}
			}
		}
		if u, err := url.Parse(dsn); err == nil {
			query := u.Query()
			passwords = append(passwords, query.Get("password"), query.Get("sslpassword"))
		}
		return passwords
	}
	for _, m := range keyValuePassword.FindAllStringSubmatch(dsn, -1) {
		value := m[1]
		if strings.HasPrefix(value, "'") {
			value = strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'")
			value = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(value)
		}
		passwords = append(passwords, value)
	}
	return passwords
}

// encodedForms returns password as written and in the escaped forms that
// URLs and error messages quote it in.
func encodedForms(password string) []string {
	if password == "" {
		return nil
	}
	return []string{
		password,
		url.PathEscape(password),
		url.QueryEscape(password),
		strings.TrimPrefix(url.UserPassword("", password).String(), ":"),
	}
}
