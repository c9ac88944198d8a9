CREATE TABLE "dureq_completions" (
	run_id     TEXT NOT NULL,
	step       TEXT NOT NULL,
	job_id     TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL CHECK (kind IN ('completed', 'failed', 'checkpoint')),
	data       BLOB,
	message    TEXT,
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
	PRIMARY KEY (run_id, step)
) STRICT;

CREATE INDEX "dureq_completions_created_at" ON "dureq_completions" (created_at);
