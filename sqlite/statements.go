package sqlite

import "github.com/dureqsql/completion/dialect"

// nowUTC is the database clock in UTC with milliseconds, the precision of
// SQLite's clock, as text that sorts in time order.
const nowUTC = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

// cutoffUTC is a subquery that returns the prune cutoff, bound as a
// time.Time, as text in the form of created_at, so that comparing the two
// as text compares them in time.
//
// The driver chooses the text of a bound time.Time: modernc.org/sqlite
// writes "2006-01-02 15:04:05.999999999 -0700 MST" by default,
// "2006-01-02 15:04:05.999999999-07:00" with _time_format=sqlite, and the
// time in the zone of _timezone when that is set. The subquery keeps the
// date and time to the second (v), the fraction with its trailing zeros
// removed (frac), and reads the zone offset (zone) with or without a
// colon, so that datetime converts the seconds to UTC. The fraction stays
// text, so a cutoff with nanoseconds compares exactly with a time that
// has milliseconds.
//
// A cutoff in no such form, such as the integer that _time_integer_format
// makes the driver bind, would compare as NULL and delete nothing, every
// time. SQLite has no function that raises an error of one's choosing
// outside a trigger. So json_extract with an invalid path raises one that
// names the problem, and coalesce evaluates it only when the cutoff is NULL.
const cutoffUTC = `SELECT coalesce(datetime(substr(v, 1, 19) || CASE
		WHEN zone = '' OR zone LIKE 'Z%' THEN ''
		ELSE substr(zone, 1, 3) || ':' || substr(replace(zone, ':', ''), 4, 2)
	END) || rtrim(rtrim(frac, '0'), '.'),
	json_extract('{}', 'prune cutoff ' || v || ' is not a time in text form; remove _time_integer_format from the DSN'))
FROM (SELECT v, frac, ltrim(substr(v, 20 + length(frac))) AS zone
	FROM (SELECT v, substr(v, 20, length(v) - 19 - length(ltrim(substr(v, 20), '.0123456789'))) AS frac
		FROM (SELECT CAST(? AS TEXT) AS v)))`

// Statements returns the SQL for the table t.
func (Dialect) Statements(t dialect.Table) dialect.Statements {
	name := quoteIdentifier(t.Name)
	return dialect.Statements{
		InsertMarker: insertMarker(name),
		SelectMarker: selectMarker(name),
		PruneBatch:   pruneBatch(name),
	}
}

// insertMarker returns InsertMarker for the quoted table name. ON CONFLICT
// names the key, so only a duplicate marker is skipped, where INSERT OR
// IGNORE would skip a failed CHECK or NOT NULL constraint too.
func insertMarker(name string) dialect.Statement {
	return dialect.Statement{
		SQL: "INSERT INTO " + name + " (run_id, step, job_id, kind, data, message, created_at)" +
			" VALUES (?, ?, ?, ?, ?, ?, " + nowUTC + ") ON CONFLICT (run_id, step) DO NOTHING",
		Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep, dialect.ArgJobID, dialect.ArgKind, dialect.ArgData, dialect.ArgMessage},
	}
}

// selectMarker returns SelectMarker for the quoted table name. created_at
// comes back as text, which the store reads as UTC.
func selectMarker(name string) dialect.Statement {
	const columns = "kind, job_id, data, message, created_at"
	return dialect.Statement{
		SQL:  "SELECT " + columns + " FROM " + name + " WHERE run_id = ? AND step = ?",
		Args: []dialect.Arg{dialect.ArgRunID, dialect.ArgStep},
	}
}

// pruneBatch returns PruneBatch for the quoted table name. SQLite locks
// the whole database, not rows, so there are no locked rows to skip, and
// each batch waits for the write lock like any writer. ORDER BY lets
// SQLite read the index on created_at from the oldest marker and stop at
// the cutoff.
func pruneBatch(name string) dialect.Statement {
	return dialect.Statement{
		SQL: "DELETE FROM " + name + " WHERE rowid IN (SELECT rowid FROM " + name +
			" WHERE created_at < (" + cutoffUTC + ") ORDER BY created_at LIMIT ?)",
		Args: []dialect.Arg{dialect.ArgBefore, dialect.ArgLimit},
	}
}
