package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/dureqsql/completion/dialect"
)

// Sentinel errors. Each dialect package re-exports the same values, so
// errors.Is matches either name.
var (
	// ErrAlreadyCompleted is returned by Complete and Fail when the run
	// already has a completed outcome. The transaction stays usable.
	ErrAlreadyCompleted = errors.New("dureq: run already completed")

	// ErrAlreadyFailed is matched by the *FailedError that Complete and Fail
	// return when the run already has a failed outcome.
	ErrAlreadyFailed = errors.New("dureq: run already failed")

	// ErrAlreadyCheckpointed is returned by Checkpoint when the step already
	// has a checkpoint. The stored data is kept and the transaction stays
	// usable.
	ErrAlreadyCheckpointed = errors.New("dureq: step already checkpointed")

	// ErrNoRun is returned, before any SQL is sent, when the context carries
	// no run ID.
	ErrNoRun = errors.New("dureq: no run ID in context (add one with store.WithRun or a run resolver)")

	// ErrInvalid is matched by every *ValidationError.
	ErrInvalid = errors.New("dureq: invalid input")
)

// FailedError is returned by Complete and Fail when the run already has a
// failed outcome. It matches ErrAlreadyFailed and carries the stored message.
type FailedError struct {
	RunID   string
	Message string // the stored failure message, possibly empty
}

func (e *FailedError) Error() string {
	if e.Message == "" {
		return "dureq: run " + strconv.Quote(e.RunID) + " already failed"
	}
	return "dureq: run " + strconv.Quote(e.RunID) + " already failed: " + e.Message
}

// Is reports whether target is ErrAlreadyFailed.
func (e *FailedError) Is(target error) bool { return target == ErrAlreadyFailed }

// ValidationError is returned, before any SQL is sent, for a run ID, job ID,
// step, data or option that breaks the rules of Validate. It matches
// ErrInvalid.
type ValidationError struct {
	Field  string // what was checked, such as "step" or "run ID"
	Value  string // the value, quoted and shortened for display
	Reason string // what is wrong with it and how to fix it
}

func (e *ValidationError) Error() string {
	if e.Value == "" {
		return "dureq: invalid " + e.Field + ": " + e.Reason
	}
	return "dureq: invalid " + e.Field + " " + e.Value + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Error is an error the database or driver returned to a store operation.
// It wraps the driver's error and, when the caller's context was done, the
// context's error too, so errors.Is matches context.Canceled or
// context.DeadlineExceeded whatever the driver reported.
type Error struct {
	Op    string        // the operation, such as "complete run"
	RunID string        // the run ID, empty for table-wide operations
	Class dialect.Class // the dialect's classification of Err
	Err   error         // the driver's error

	// ctxErr is the context's error when the context was done as the
	// operation returned, whether or not Err wraps it.
	ctxErr error
}

func (e *Error) Error() string {
	s := "dureq: " + e.Op
	if e.RunID != "" {
		s += " " + strconv.Quote(e.RunID)
	}
	switch {
	case e.ctxErr != nil && !errors.Is(e.Err, e.ctxErr):
		s += ": " + e.ctxErr.Error()
	case e.ctxErr == nil && e.Class != dialect.ClassOther:
		s += ": " + e.Class.String()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the driver's error and, when the context was done, the
// context's error.
func (e *Error) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.ctxErr, e.Err}
	}
	return []error{e.Err}
}

// Retryable reports whether retrying the whole transaction is safe and may
// succeed. It is false once the caller's context is done.
func (e *Error) Retryable() bool {
	return e.ctxErr == nil && e.Class.Retryable()
}

func wrapError(ctx context.Context, d dialect.Dialect, op, runID string, err error) error {
	return &Error{Op: op, RunID: runID, Class: d.Classify(err), Err: err, ctxErr: ctx.Err()}
}

// classifiers holds every dialect a store was built with, by name, so that
// IsRetryable can classify the raw driver errors that the caller's own
// statements and COMMIT return.
var classifiers sync.Map

func registerClassifier(d dialect.Dialect) {
	classifiers.LoadOrStore(d.Name(), d)
}

// IsRetryable reports whether err means that the whole transaction may be
// retried: a serialization failure, a deadlock, a session the server ended,
// or a lost connection, also one lost while COMMIT was in flight. In that
// last case the caller cannot know whether the transaction committed, but a
// retry is still safe: if the marker committed, the retry returns
// ErrAlreadyCompleted and writes nothing.
//
// It accepts errors from this module and raw errors from the driver of any
// dialect a store was built with. Context errors are not retryable. A
// network error of another service, returned by the handler, looks like a
// lost connection and is reported as retryable too, which is safe because
// retrying the whole run is.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	retryable := false
	classifiers.Range(func(_, v any) bool {
		retryable = v.(dialect.Dialect).Classify(err).Retryable()
		return !retryable
	})
	return retryable || IsConnectionError(err)
}

// IsConnectionError reports whether err is a lost connection as any driver
// reports it: driver.ErrBadConn, an unexpected end of stream, a network
// error, or a reset or broken pipe. Dialects use it in Classify.
func IsConnectionError(err error) bool {
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &netErr)
}
