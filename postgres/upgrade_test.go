package postgres_test

import (
	"context"
	"database/sql/driver"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

func driverBadConn() error { return driver.ErrBadConn }

// earlierLayout is the table of the earlier API: outcomes under the empty step,
// failures under steps prefixed "failed:", JSONB data.
const earlierLayout = `CREATE TABLE %s.dureq_completions (
	run_id       text NOT NULL,
	job_id       text,
	step         text NOT NULL DEFAULT '',
	data         jsonb,
	completed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, step)
)`

func TestEnsureTableUpgradesEarlierLayout(t *testing.T) {
	forEachDriver(t, func(t *testing.T, driver string) {
		admin := openWith(t, driver, nil)
		schema := newSchema(t, admin)
		_, err := admin.Exec(fmt.Sprintf(earlierLayout, schema))
		require.NoError(t, err)
		_, err = admin.Exec(`INSERT INTO ` + schema + `.dureq_completions (run_id, job_id, step, data, completed_at) VALUES
			('done', 'j1', '', NULL, '2026-01-01 00:00:00+00'),
			('done', 'j1', 'charge', '{"b": 1,   "a": [2, 3]}', '2026-01-01 00:00:01+00'),
			('failed', NULL, 'failed:card declined', '{"code": 51}', '2026-01-02 00:00:00+00'),
			('both', 'j3', '', NULL, '2026-01-03 00:00:00+00'),
			('both', 'j3', 'failed:late', NULL, '2026-01-03 00:00:01+00'),
			('twice', 'j4', 'failed:second', NULL, '2026-01-04 00:00:02+00'),
			('twice', 'j4', 'failed:first', NULL, '2026-01-04 00:00:01+00')`)
		require.NoError(t, err)

		db := openWith(t, driver, map[string]string{"search_path": schema})
		ctx := context.Background()
		require.NoError(t, postgres.EnsureTable(ctx, db))
		require.NoError(t, postgres.EnsureTable(ctx, db), "a second call finds the current layout")

		var rows int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM dureq_completions").Scan(&rows))
		require.Equal(t, 7, rows, "no row is lost")

		for _, tc := range []struct {
			name    string
			runID   string
			status  store.Status
			message string
			jobID   string
		}{
			{"empty step becomes completed", "done", store.StatusCompleted, "", "j1"},
			{"failed step becomes failed", "failed", store.StatusFailed, "card declined", ""},
			{"completed wins over failed", "both", store.StatusCompleted, "", "j3"},
			{"earliest failure wins", "twice", store.StatusFailed, "first", "j4"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o, err := postgres.Outcome(store.WithRun(ctx, tc.runID, ""), db)
				require.NoError(t, err)
				require.Equal(t, tc.status, o.Status)
				require.Equal(t, tc.message, o.Message)
				require.Equal(t, tc.jobID, o.JobID)
			})
		}

		done := store.WithRun(ctx, "done", "")
		ok, data, err := postgres.IsCheckpointed(done, db, "charge")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, `{"a": [2, 3], "b": 1}`, string(data), "JSONB data reads back as its normalized text")

		ok, data, err = postgres.IsCheckpointed(store.WithRun(ctx, "both", ""), db, "failed:late")
		require.NoError(t, err)
		require.True(t, ok, "a failure that lost to a completion is kept as a checkpoint")
		require.Nil(t, data)

		tx, err := db.Begin()
		require.NoError(t, err)
		require.Equal(t, postgres.ErrAlreadyCompleted, postgres.CompleteTx(done, tx))
		require.ErrorIs(t, postgres.CompleteTx(store.WithRun(ctx, "failed", ""), tx), postgres.ErrAlreadyFailed)
		require.NoError(t, postgres.CompleteTx(store.WithRun(ctx, "new", "j9"), tx))
		require.NoError(t, tx.Commit())
	})
}
