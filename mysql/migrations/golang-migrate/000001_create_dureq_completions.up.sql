CREATE TABLE IF NOT EXISTS `dureq_completions` (
	run_id     VARBINARY(255) NOT NULL,
	step       VARBINARY(255) NOT NULL,
	job_id     VARBINARY(255) NOT NULL DEFAULT '',
	kind       VARCHAR(10) CHARACTER SET ascii NOT NULL,
	data       LONGBLOB NULL,
	message    LONGTEXT CHARACTER SET utf8mb4 NULL,
	created_at DATETIME(6) NOT NULL,
	PRIMARY KEY (run_id, step),
	INDEX created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4;
