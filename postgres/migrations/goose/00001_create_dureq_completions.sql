-- +goose Up
CREATE TABLE dureq_completions (
	run_id     text        NOT NULL,
	step       text        NOT NULL,
	job_id     text        NOT NULL DEFAULT '',
	kind       text        NOT NULL,
	data       bytea,
	message    text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, step)
);

CREATE INDEX dureq_completions_created_at_idx ON dureq_completions (created_at);

-- +goose Down
DROP TABLE dureq_completions;
