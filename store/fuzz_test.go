package store_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/store"
)

// The seed corpus of each target is in testdata/fuzz/<target>. Run a target
// with, for example:
//
//	go test -run '^$' -fuzz '^FuzzValidateID$' -fuzztime 30s ./store/

// maxErrorSize is the maximum size, in bytes, of a validation error's
// message. Values are shown shortened to 64 bytes, so a long value must not
// make a long message.
const maxErrorSize = 512

// FuzzValidateID checks that ValidateID accepts exactly the values that are
// valid UTF-8, contain no NUL byte and have at most MaxIDSize bytes, and
// that its error is safe to log.
func FuzzValidateID(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string) {
		valid := len(value) <= store.MaxIDSize && strings.IndexByte(value, 0) < 0 && utf8.ValidString(value)
		err := store.ValidateID("run ID", value)
		if valid {
			require.NoError(t, err)
			return
		}
		require.ErrorIs(t, err, store.ErrInvalid)
		var invalid *store.ValidationError
		require.ErrorAs(t, err, &invalid)
		require.Equal(t, "run ID", invalid.Field)
		require.NotEmpty(t, invalid.Reason)

		message := err.Error()
		require.True(t, strings.HasPrefix(message, "dureq: invalid run ID "), "message %q", message)
		require.True(t, utf8.ValidString(message), "message %q is not valid UTF-8", message)
		require.NotContains(t, message, "\x00")
		require.LessOrEqual(t, len(message), maxErrorSize)
	})
}

// sanitizeModel returns msg with each NUL byte and each run of invalid UTF-8
// bytes replaced by U+FFFD, as SanitizeMessage does without a limit. It
// walks the bytes itself instead of calling strings.ToValidUTF8 like
// SanitizeMessage, so that the two can disagree.
func sanitizeModel(msg string) string {
	var b strings.Builder
	inInvalid := false
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRuneInString(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if !inInvalid {
				b.WriteRune(utf8.RuneError)
			}
			inInvalid = true
		case r == 0:
			b.WriteRune(utf8.RuneError)
			inInvalid = false
		default:
			b.WriteString(msg[i : i+size])
			inInvalid = false
		}
		i += size
	}
	return b.String()
}

// FuzzSanitizeMessage checks that SanitizeMessage returns valid UTF-8
// without NUL bytes and at most limit bytes long, which is the longest
// prefix of the sanitized message that ends at a character boundary.
//
// The limit is a uint16 so that the fuzzer explores small limits. Limits of
// 0 and below, which return the empty string, are checked by
// TestSanitizeMessageLimits.
func FuzzSanitizeMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg string, limit uint16) {
		maxSize := int(limit)
		got := store.SanitizeMessage(msg, maxSize)
		require.True(t, utf8.ValidString(got), "result %q is not valid UTF-8", got)
		require.NotContains(t, got, "\x00")
		require.LessOrEqual(t, len(got), maxSize)

		full := sanitizeModel(msg)
		require.True(t, strings.HasPrefix(full, got), "result %q is not a prefix of %q", got, full)
		if len(got) < len(full) {
			_, next := utf8.DecodeRuneInString(full[len(got):])
			require.Greater(t, len(got)+next, maxSize, "the cut must keep every character that fits")
		}
		if utf8.ValidString(msg) && strings.IndexByte(msg, 0) < 0 {
			require.True(t, strings.HasPrefix(msg, got), "a valid message must be cut, not changed")
		}
		require.Equal(t, got, store.SanitizeMessage(got, maxSize), "sanitizing twice must change nothing")
	})
}
