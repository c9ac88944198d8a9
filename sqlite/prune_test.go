package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// completeAt completes runID on db and returns the time the database
// recorded for it.
func completeAt(t *testing.T, db *sql.DB, runID string) time.Time {
	t.Helper()
	ctx := store.WithRun(context.Background(), runID, "job-"+runID)
	require.NoError(t, sqlite.RunTx(ctx, db, nil, func(tx *sql.Tx) error { return sqlite.CompleteTx(ctx, tx) }))
	o, err := sqlite.Outcome(ctx, db)
	require.NoError(t, err)
	require.Equal(t, store.StatusCompleted, o.Status)
	return o.At
}

func TestPruneCutoffBoundary(t *testing.T) {
	t.Parallel()
	// Each DSN makes modernc.org/sqlite bind the cutoff as different text:
	// "2006-01-02 15:04:05.999999999 -0700 MST" by default, with an
	// offset of "-07:00" for _time_format=sqlite, and in another zone than
	// UTC with _timezone.
	for _, tc := range []struct{ name, params string }{
		{"DefaultTimeFormat", "_pragma=busy_timeout(5000)"},
		{"SQLiteTimeFormat", "_pragma=busy_timeout(5000)&_time_format=sqlite"},
		{"TimezoneEastOfUTC", "_pragma=busy_timeout(5000)&_timezone=Asia/Kolkata"},
		{"SQLiteTimeFormatWestOfUTC", "_pragma=busy_timeout(5000)&_time_format=sqlite&_timezone=America/New_York"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openWithParams(t, tc.params)
			require.NoError(t, sqlite.EnsureTable(ctx, db))
			at := completeAt(t, db, "run-1")
			require.Equal(t, time.UTC, at.Location())
			require.Zero(t, at.Nanosecond()%int(time.Millisecond), "SQLite's clock has milliseconds")

			for _, keep := range []time.Time{at.Add(-time.Millisecond), at.Add(-time.Nanosecond), at, at.In(time.FixedZone("UTC+5:45", 5*3600+45*60))} {
				n, err := sqlite.Prune(ctx, db, keep)
				require.NoError(t, err, "cutoff %v", keep)
				require.Zero(t, n, "cutoff %v is not after the marker's time %v", keep, at)
			}
			n, err := sqlite.Prune(ctx, db, at.Add(time.Nanosecond))
			require.NoError(t, err)
			require.Equal(t, int64(1), n, "cutoff 1 ns after the marker's time %v", at)
		})
	}
}

func TestPruneTruncatesCutoffWithoutFraction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// _time_format=datetime binds the cutoff without its fraction of a
	// second, so Prune keeps markers up to one second older than it.
	db := openWithParams(t, "_pragma=busy_timeout(5000)&_time_format=datetime")
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	at := completeAt(t, db, "run-1")

	n, err := sqlite.Prune(ctx, db, at.Truncate(time.Second))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = sqlite.Prune(ctx, db, at.Truncate(time.Second).Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func TestPruneRejectsIntegerCutoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openWithParams(t, "_pragma=busy_timeout(5000)&_time_integer_format=unix_milli")
	require.NoError(t, sqlite.EnsureTable(ctx, db))
	completeAt(t, db, "run-1")

	n, err := sqlite.Prune(ctx, db, time.Now().Add(time.Hour))
	require.Error(t, err, "a cutoff that cannot be read must not delete nothing in silence")
	require.Zero(t, n)
	require.True(t, strings.HasPrefix(err.Error(), "dureq: prune markers: "), "error %q", err)
	require.Contains(t, err.Error(), "remove _time_integer_format from the DSN")
	done, err := sqlite.IsCompleted(store.WithRun(ctx, "run-1", ""), db)
	require.NoError(t, err)
	require.True(t, done)
}

func TestPruneReadsIndexInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	s, err := sqlite.New(store.WithTable("markers"))
	require.NoError(t, err)
	require.NoError(t, s.EnsureTable(ctx, db))

	st := sqlite.Dialect{}.Statements(dialect.Table{Name: "markers"})
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.PruneBatch.SQL, time.Now(), 10)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, plan, `SEARCH markers USING COVERING INDEX markers_created_at (created_at<?)`,
		"the batch must read the index on created_at up to the cutoff, not scan the table")
}
