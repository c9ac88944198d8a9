package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCreationTimeScan(t *testing.T) {
	want := time.Date(2026, 12, 4, 16, 20, 24, 123456000, time.UTC)
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"timestamp from driver", want},
		{"text with space and zone", "2026-12-04 16:20:24.123456+00:00"},
		{"text without zone is UTC", []byte("2026-12-04 16:20:24.123456")},
		{"RFC 3339 text", "2026-12-04T16:20:24.123456Z"},
		{"text with other zone", "2026-12-05 01:20:24.123456+09:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d dbTime
			require.NoError(t, d.Scan(tc.value))
			require.True(t, want.Equal(d.t), "got %v", d.t)
		})
	}
}

func TestCreationTimeScanRejects(t *testing.T) {
	var d dbTime
	require.EqualError(t, d.Scan(int64(5)), "scan creation time: unsupported type int64; the dialect must return a timestamp or its text")
	require.EqualError(t, d.Scan("yesterday"), `scan creation time: "yesterday" is in no known layout, such as 2006-01-02 15:04:05.999999`)
}

func TestSanitizeMessageLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		want string
	}{
		{"negative limit gives empty", -1, ""},
		{"zero limit gives empty", 0, ""},
		{"cut inside a character", 2, "a"},
		{"limit above length keeps all", 10, "aé"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, SanitizeMessage("aé", tc.max))
		})
	}
}
