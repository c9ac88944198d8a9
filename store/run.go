package store

import "context"

type runKey struct{}

type runIdentity struct {
	runID, jobID string
}

// WithRun returns a copy of ctx that carries the run ID and job ID that
// every store call made with it records. The run ID is required by those
// calls; the job ID may be empty.
func WithRun(ctx context.Context, runID, jobID string) context.Context {
	return context.WithValue(ctx, runKey{}, runIdentity{runID: runID, jobID: jobID})
}

// RunFromContext returns the run ID and job ID that WithRun put into ctx,
// and false when it put none.
func RunFromContext(ctx context.Context) (runID, jobID string, ok bool) {
	id, ok := ctx.Value(runKey{}).(runIdentity)
	return id.runID, id.jobID, ok
}

// RunResolver returns the run ID and job ID of the run that ctx belongs to.
// An empty run ID means the context carries no run, and the store returns
// ErrNoRun. A resolver bridges a job runner that keeps run identity under
// context keys of its own:
//
//	s, err := postgres.New(store.WithRunResolver(func(ctx context.Context) (string, string) {
//		return myrunner.RunID(ctx), myrunner.JobID(ctx)
//	}))
type RunResolver func(ctx context.Context) (runID, jobID string)

func resolveFromContext(ctx context.Context) (runID, jobID string) {
	runID, jobID, _ = RunFromContext(ctx)
	return runID, jobID
}
