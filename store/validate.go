package store

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxIDSize is the maximum size, in bytes, of a run ID, job ID or step name.
const MaxIDSize = 255

// Default limits of a store, changed with WithMaxDataSize and
// WithMaxMessageSize.
const (
	DefaultMaxDataSize    = 16 << 20 // 16 MiB of checkpoint data
	DefaultMaxMessageSize = 4096     // bytes of a stored failure message
)

// ValidateID checks a run ID, job ID or step name: valid UTF-8, no NUL
// bytes, at most MaxIDSize bytes. An empty value is valid here; callers that
// require one check that first. field names the value in the error.
func ValidateID(field, value string) error {
	if len(value) > MaxIDSize {
		return &ValidationError{
			Field:  field,
			Value:  displayValue(value),
			Reason: "is " + strconv.Itoa(len(value)) + " bytes long, over the maximum of " + strconv.Itoa(MaxIDSize) + " bytes; use a shorter value",
		}
	}
	if i := strings.IndexByte(value, 0); i >= 0 {
		return &ValidationError{
			Field:  field,
			Value:  displayValue(value),
			Reason: "contains a NUL byte at offset " + strconv.Itoa(i) + "; remove it",
		}
	}
	if !utf8.ValidString(value) {
		return &ValidationError{
			Field:  field,
			Value:  displayValue(value),
			Reason: "is not valid UTF-8 at offset " + strconv.Itoa(invalidUTF8Offset(value)) + "; encode it as UTF-8",
		}
	}
	return nil
}

func invalidUTF8Offset(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return i
			}
		}
	}
	return len(s)
}

// displayValue quotes v for an error message, shortened to its first 64
// bytes so that an oversized value does not flood a log.
func displayValue(v string) string {
	const shownBytes = 64
	if len(v) <= shownBytes {
		return strconv.Quote(v)
	}
	return strconv.Quote(v[:shownBytes]) + "... (" + strconv.Itoa(len(v)) + " bytes)"
}

// SanitizeMessage returns msg as it is stored for a failed run: invalid
// UTF-8 sequences and NUL bytes are replaced by U+FFFD, and the result is cut
// at a character boundary to at most max bytes. A max of 0 or less returns
// the empty string.
func SanitizeMessage(msg string, max int) string {
	if max <= 0 {
		return ""
	}
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	msg = strings.ReplaceAll(msg, "\x00", "\uFFFD")
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut]
}
