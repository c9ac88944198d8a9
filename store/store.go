package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/dureqsql/completion/dialect"
)

// OutcomeStep is the step under which a run's outcome is stored. Checkpoint
// steps must be non-empty, so they never collide with it.
const OutcomeStep = ""

// DefaultPruneBatchSize is the number of rows Prune deletes per statement
// unless WithPruneBatchSize sets another.
const DefaultPruneBatchSize = 1000

// Querier runs SQL. *sql.DB, *sql.Conn and *sql.Tx implement it. Markers
// give exactly-once outcomes only when they are written in the transaction
// that writes the business rows, so pass the handler's *sql.Tx to the
// writing methods.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store keeps completion markers in one table through one dialect. It is
// safe for concurrent use. Every method reads the run from its context
// through the store's run resolver. When the run ID, job ID, step or data is
// invalid, it returns an error before any SQL is sent, so bad input never
// aborts a caller's transaction.
type Store struct {
	dialect    dialect.Dialect
	table      dialect.Table
	stmts      dialect.Statements
	resolve    RunResolver
	maxData    int
	maxDataSet bool // WithMaxDataSize was given
	maxMessage int
	pruneBatch int
}

// Option configures a Store.
type Option func(*Store)

// WithTable sets the table name. The default is DefaultTable.
func WithTable(name string) Option {
	return func(s *Store) { s.table.Name = name }
}

// WithSchema sets the schema of the table. The default is empty: the
// connection's default schema.
func WithSchema(name string) Option {
	return func(s *Store) { s.table.Schema = name }
}

// WithRunResolver sets the function that reads the run ID and job ID from a
// context. The default reads what WithRun stored.
func WithRunResolver(r RunResolver) Option {
	return func(s *Store) { s.resolve = r }
}

// WithMaxDataSize sets the maximum size of checkpoint data, in bytes. The
// default is DefaultMaxDataSize, or the dialect's maximum when that is
// smaller. A value above the dialect's maximum is rejected.
func WithMaxDataSize(n int) Option {
	return func(s *Store) { s.maxData, s.maxDataSet = n, true }
}

// WithMaxMessageSize sets the size, in bytes, at which stored failure
// messages are cut. The default is DefaultMaxMessageSize.
func WithMaxMessageSize(n int) Option {
	return func(s *Store) { s.maxMessage = n }
}

// WithPruneBatchSize sets how many rows Prune deletes per statement. The
// default is DefaultPruneBatchSize.
func WithPruneBatchSize(n int) Option {
	return func(s *Store) { s.pruneBatch = n }
}

// DefaultTable is the table name of a store built without WithTable.
const DefaultTable = "dureq_completions"

// New returns a store that keeps markers through d. It returns an error
// matching ErrInvalid when an option is invalid, for example a table name
// that d cannot use.
func New(d dialect.Dialect, opts ...Option) (*Store, error) {
	if d == nil {
		return nil, &ValidationError{Field: "dialect", Reason: "is nil; pass a dialect such as postgres.Dialect{}"}
	}
	s := &Store{
		dialect:    d,
		table:      dialect.Table{Name: DefaultTable},
		resolve:    resolveFromContext,
		maxData:    DefaultMaxDataSize,
		maxMessage: DefaultMaxMessageSize,
		pruneBatch: DefaultPruneBatchSize,
	}
	for _, opt := range opts {
		opt(s)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	s.stmts = d.Statements(s.table)
	registerClassifier(d)
	return s, nil
}

func (s *Store) check() error {
	if err := s.dialect.CheckTable(s.table); err != nil {
		return &ValidationError{Field: "table", Value: displayTable(s.table), Reason: err.Error()}
	}
	if s.resolve == nil {
		return &ValidationError{Field: "run resolver", Reason: "is nil; pass a function or leave the option out"}
	}
	limit := s.dialect.Capabilities().MaxDataSize
	if !s.maxDataSet {
		s.maxData = min(s.maxData, limit)
	}
	if s.maxData < 0 || s.maxData > limit {
		return &ValidationError{
			Field:  "maximum data size",
			Value:  strconv.Itoa(s.maxData),
			Reason: "is out of range; use 0 to " + strconv.Itoa(limit) + " bytes, the maximum of the " + s.dialect.Name() + " dialect",
		}
	}
	if s.maxMessage < 1 {
		return &ValidationError{Field: "maximum message size", Value: strconv.Itoa(s.maxMessage), Reason: "is not positive; use at least 1 byte"}
	}
	if s.pruneBatch < 1 {
		return &ValidationError{Field: "prune batch size", Value: strconv.Itoa(s.pruneBatch), Reason: "is not positive; use at least 1 row"}
	}
	return nil
}

func displayTable(t dialect.Table) string {
	if t.Schema == "" {
		return displayValue(t.Name)
	}
	return displayValue(t.Schema) + "." + displayValue(t.Name)
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() dialect.Dialect { return s.dialect }

// Table returns the location of the store's table.
func (s *Store) Table() dialect.Table { return s.table }

// MaxDataSize returns the maximum size of checkpoint data, in bytes.
func (s *Store) MaxDataSize() int { return s.maxData }

// MaxMessageSize returns the size, in bytes, at which failure messages are
// cut.
func (s *Store) MaxMessageSize() int { return s.maxMessage }

// EnsureTable creates the store's table when it does not exist and upgrades
// a table of the earlier layout in place. It is idempotent, sends no DDL
// when the table exists in the current layout, and is safe to call from many
// processes at once.
func (s *Store) EnsureTable(ctx context.Context, db *sql.DB) error {
	if db == nil {
		return &ValidationError{Field: "database", Reason: "is nil; pass an open *sql.DB"}
	}
	if err := s.dialect.EnsureTable(ctx, db, s.table); err != nil {
		return wrapError(ctx, s.dialect, "ensure table "+displayTable(s.table), "", err)
	}
	return nil
}

// run returns the validated run ID and job ID of ctx.
func (s *Store) run(ctx context.Context, q Querier) (runID, jobID string, err error) {
	if isNil(q) {
		return "", "", &ValidationError{Field: "querier", Reason: "is nil; pass the handler's *sql.Tx, or a *sql.DB for reads"}
	}
	runID, jobID = s.resolve(ctx)
	if runID == "" {
		return "", "", ErrNoRun
	}
	if err := ValidateID("run ID", runID); err != nil {
		return "", "", err
	}
	if err := ValidateID("job ID", jobID); err != nil {
		return "", "", err
	}
	return runID, jobID, nil
}

// isNil reports whether q is nil, also when it holds a nil *sql.Tx,
// *sql.DB or *sql.Conn, whose methods would panic.
func isNil(q Querier) bool {
	switch v := q.(type) {
	case nil:
		return true
	case *sql.Tx:
		return v == nil
	case *sql.DB:
		return v == nil
	case *sql.Conn:
		return v == nil
	}
	return false
}

// marker is a row of the table, as the store writes or reads it.
type marker struct {
	runID, step, jobID string
	kind               dialect.Kind
	data               []byte
	message            sql.NullString
	createdAt          time.Time
}

func (s *Store) args(st dialect.Statement, m *marker, before time.Time) []any {
	args := make([]any, len(st.Args))
	for i, a := range st.Args {
		switch a {
		case dialect.ArgRunID:
			args[i] = m.runID
		case dialect.ArgStep:
			args[i] = m.step
		case dialect.ArgJobID:
			args[i] = m.jobID
		case dialect.ArgKind:
			args[i] = kindValue(m.kind)
		case dialect.ArgData:
			if m.data == nil {
				args[i] = nil
			} else {
				args[i] = m.data
			}
		case dialect.ArgMessage:
			if m.message.Valid {
				args[i] = m.message.String
			}
		case dialect.ArgBefore:
			args[i] = before.UTC()
		case dialect.ArgLimit:
			args[i] = s.pruneBatch
		}
	}
	return args
}

// kindValue returns k as a string in an interface. The known kinds are
// constants, which an interface holds without a heap allocation.
func kindValue(k dialect.Kind) any {
	switch k {
	case dialect.KindCompleted:
		return string(dialect.KindCompleted)
	case dialect.KindFailed:
		return string(dialect.KindFailed)
	case dialect.KindCheckpoint:
		return string(dialect.KindCheckpoint)
	}
	return string(k)
}

// insert runs InsertMarker and reports whether it inserted the row.
func (s *Store) insert(ctx context.Context, q Querier, op string, m *marker) (bool, error) {
	res, err := q.ExecContext(ctx, s.stmts.InsertMarker.SQL, s.args(s.stmts.InsertMarker, m, time.Time{})...)
	if err != nil {
		return false, wrapError(ctx, s.dialect, op, m.runID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapError(ctx, s.dialect, op, m.runID, err)
	}
	return n == 1, nil
}

// selectMarker reads the row of runID and step, and reports whether there
// is one.
func (s *Store) selectMarker(ctx context.Context, q Querier, op, runID, step string) (*marker, bool, error) {
	// The marker and the scan destinations share one allocation.
	row := &struct {
		marker
		kindColumn    string
		dataColumn    sql.Null[[]byte]
		createdColumn dbTime
	}{marker: marker{runID: runID, step: step}}
	m := &row.marker
	err := q.QueryRowContext(ctx, s.stmts.SelectMarker.SQL, s.args(s.stmts.SelectMarker, m, time.Time{})...).
		Scan(&row.kindColumn, &m.jobID, &row.dataColumn, &m.message, &row.createdColumn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapError(ctx, s.dialect, op, runID, err)
	}
	m.kind = dialect.Kind(row.kindColumn)
	if row.dataColumn.Valid {
		// An empty stored value reads back empty and non-nil, whatever
		// the driver returned for it.
		m.data = row.dataColumn.V
		if m.data == nil {
			m.data = []byte{}
		}
	}
	m.createdAt = row.createdColumn.t.UTC()
	return m, true, nil
}

// errOutcomeNotVisible is the cause reported when an insert found a
// conflicting outcome that the following read cannot see, which a
// concurrent prune or a snapshot older than the winner's commit can cause.
var errOutcomeNotVisible = errors.New("an outcome exists but is not visible to this transaction; retry the transaction")

// existingOutcome returns the error for a run whose outcome insert found a
// row.
func (s *Store) existingOutcome(ctx context.Context, q Querier, op, runID string) error {
	m, ok, err := s.selectMarker(ctx, q, op, runID, OutcomeStep)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Op: op, RunID: runID, Class: dialect.ClassSerialization, Err: errOutcomeNotVisible}
	}
	if m.kind == dialect.KindFailed {
		return &FailedError{RunID: runID, Message: m.message.String}
	}
	return ErrAlreadyCompleted
}

// Complete records that the run of ctx completed, in the transaction q.
//
// It returns nil when it recorded the outcome, ErrAlreadyCompleted when the
// run already completed, and a *FailedError matching ErrAlreadyFailed when
// the run already failed. Neither error aborts the transaction, which the
// caller may still commit or roll back. At REPEATABLE READ or SERIALIZABLE a
// concurrent outcome can instead cause an error for which IsRetryable is
// true, and a retry of the whole transaction then returns the sentinel.
func (s *Store) Complete(ctx context.Context, q Querier) error {
	runID, jobID, err := s.run(ctx, q)
	if err != nil {
		return err
	}
	const op = "complete run"
	m := &marker{runID: runID, step: OutcomeStep, jobID: jobID, kind: dialect.KindCompleted}
	inserted, err := s.insert(ctx, q, op, m)
	if err != nil || inserted {
		return err
	}
	return s.existingOutcome(ctx, q, op, runID)
}

// Fail records that the run of ctx failed with cause, in the transaction q.
// The message of cause is stored sanitized (see SanitizeMessage) and cut at
// the store's maximum message size; a nil cause stores an empty message.
//
// It returns the same errors as Complete, with the same guarantees.
func (s *Store) Fail(ctx context.Context, q Querier, cause error) error {
	runID, jobID, err := s.run(ctx, q)
	if err != nil {
		return err
	}
	const op = "fail run"
	m := &marker{runID: runID, step: OutcomeStep, jobID: jobID, kind: dialect.KindFailed}
	m.message.Valid = true
	if cause != nil {
		m.message.String = SanitizeMessage(cause.Error(), s.maxMessage)
	}
	inserted, err := s.insert(ctx, q, op, m)
	if err != nil || inserted {
		return err
	}
	return s.existingOutcome(ctx, q, op, runID)
}

// Checkpoint records data under step for the run of ctx, in the transaction
// q. The step must be a non-empty valid ID; data may be nil, which reads
// back as nil, and at most the store's maximum data size.
//
// It returns ErrAlreadyCheckpointed, without aborting the transaction and
// without changing the stored data, when the step already has a checkpoint.
func (s *Store) Checkpoint(ctx context.Context, q Querier, step string, data []byte) error {
	runID, jobID, err := s.run(ctx, q)
	if err != nil {
		return err
	}
	if err := s.validateStep(step); err != nil {
		return err
	}
	if len(data) > s.maxData {
		return &ValidationError{
			Field:  "checkpoint data",
			Value:  "for step " + strconv.Quote(step),
			Reason: "is " + strconv.Itoa(len(data)) + " bytes, over the maximum of " + strconv.Itoa(s.maxData) + " bytes; store less or raise the limit with WithMaxDataSize",
		}
	}
	m := &marker{runID: runID, step: step, jobID: jobID, kind: dialect.KindCheckpoint, data: data}
	inserted, err := s.insert(ctx, q, "checkpoint run", m)
	if err != nil {
		return err
	}
	if !inserted {
		return ErrAlreadyCheckpointed
	}
	return nil
}

func (s *Store) validateStep(step string) error {
	if step == "" {
		return &ValidationError{Field: "step", Value: `""`, Reason: "is empty; name the step, because the empty step is reserved for the outcome"}
	}
	return ValidateID("step", step)
}

// IsCompleted reports whether the run of ctx has a completed outcome. A
// failed run is not completed.
func (s *Store) IsCompleted(ctx context.Context, q Querier) (bool, error) {
	o, err := s.Outcome(ctx, q)
	return o.Status == StatusCompleted, err
}

// IsCheckpointed returns the data stored under step for the run of ctx, and
// false with nil data when the step has no checkpoint.
func (s *Store) IsCheckpointed(ctx context.Context, q Querier, step string) (bool, []byte, error) {
	runID, _, err := s.run(ctx, q)
	if err != nil {
		return false, nil, err
	}
	if err := s.validateStep(step); err != nil {
		return false, nil, err
	}
	m, ok, err := s.selectMarker(ctx, q, "read checkpoint of run", runID, step)
	if err != nil || !ok {
		return false, nil, err
	}
	return true, m.data, nil
}

// Status is the state of a run's outcome.
type Status int

// The states of a run's outcome.
const (
	StatusNone      Status = iota // no outcome recorded
	StatusCompleted               // completed
	StatusFailed                  // failed
)

// String returns "none", "completed" or "failed".
func (s Status) String() string {
	switch s {
	case StatusCompleted:
		return "completed"
	case StatusFailed:
		return "failed"
	default:
		return "none"
	}
}

// Outcome is a run's stored outcome.
type Outcome struct {
	Status  Status
	JobID   string    // the job ID recorded with the outcome
	Message string    // the failure message; empty unless Status is StatusFailed
	At      time.Time // when the outcome was written, by the database clock, in UTC
}

// Outcome returns the stored outcome of the run of ctx, with Status
// StatusNone when the run has none.
func (s *Store) Outcome(ctx context.Context, q Querier) (Outcome, error) {
	runID, _, err := s.run(ctx, q)
	if err != nil {
		return Outcome{}, err
	}
	m, ok, err := s.selectMarker(ctx, q, "read outcome of run", runID, OutcomeStep)
	if err != nil || !ok {
		return Outcome{}, err
	}
	o := Outcome{Status: StatusCompleted, JobID: m.jobID, At: m.createdAt}
	if m.kind == dialect.KindFailed {
		o.Status = StatusFailed
		o.Message = m.message.String
	}
	return o, nil
}

// Prune deletes every marker, of any run, created before the given time by
// the database clock, and returns how many it deleted. It deletes in batches
// of the store's prune batch size, each its own statement, so that on a
// *sql.DB no batch holds locks for long.
//
// Pruning a run's outcome lets a redelivered run execute again. Keep markers
// longer than the longest time your job runner may redeliver a run.
func (s *Store) Prune(ctx context.Context, q Querier, before time.Time) (int64, error) {
	if isNil(q) {
		return 0, &ValidationError{Field: "querier", Reason: "is nil; pass an open *sql.DB"}
	}
	var total int64
	st := s.stmts.PruneBatch
	for {
		res, err := q.ExecContext(ctx, st.SQL, s.args(st, &marker{}, before)...)
		if err != nil {
			return total, wrapError(ctx, s.dialect, "prune markers", "", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrapError(ctx, s.dialect, "prune markers", "", err)
		}
		total += n
		if n < int64(s.pruneBatch) {
			return total, nil
		}
	}
}
