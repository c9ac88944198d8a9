package cli

import (
	"net/url"
	"slices"
	"strings"
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
		r.redactDSN = redactURL
	}
	if r.findPasswords == nil {
		r.findPasswords = urlPasswords
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

// redactURL replaces the password of a URL-form DSN, the default of
// Config.Redact.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); !ok {
		return dsn
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	return u.String()
}

// urlPasswords returns the password of a URL-form DSN, the default of
// Config.Passwords.
func urlPasswords(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return nil
	}
	if p, ok := u.User.Password(); ok {
		return []string{p}
	}
	return nil
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
