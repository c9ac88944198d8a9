package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// runnerKey stands for the context key under which a job runner keeps the
// current delivery, in a package of its own.
type runnerKey struct{}

type delivery struct {
	RunID, JobID string
}

// ExampleNew_runResolver bridges a job runner that keeps run identity under
// its own context key, so handlers need no store.WithRun call.
func ExampleNew_runResolver() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	markers, err := postgres.New(store.WithRunResolver(func(ctx context.Context) (runID, jobID string) {
		d, _ := ctx.Value(runnerKey{}).(delivery)
		return d.RunID, d.JobID
	}))
	if err != nil {
		log.Fatal(err)
	}
	if err := markers.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}

	// The job runner puts the delivery into the handler's context.
	handlerCtx := context.WithValue(ctx, runnerKey{}, delivery{RunID: "email-5-run-1", JobID: "email-5"})
	if err := markers.Complete(handlerCtx, db); err != nil {
		log.Fatal(err)
	}
	outcome, err := markers.Outcome(handlerCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(outcome.Status, outcome.JobID)

	// A context without a delivery has no run.
	fmt.Println(markers.Complete(ctx, db))
	// Output:
	// completed email-5
	// dureq: no run ID in context (add one with store.WithRun or a run resolver)
}

// The two functions below stand in for dureq's types.GetRunID and
// types.GetJobID, which read the IDs of the current run from a handler's
// context, so that this example compiles without importing dureq.
type dureqKey int

func getRunID(ctx context.Context) string { v, _ := ctx.Value(dureqKey(1)).(string); return v }
func getJobID(ctx context.Context) string { v, _ := ctx.Value(dureqKey(2)).(string); return v }

// ExampleNew_dureq bridges dureq in one line: with dureq imported, pass
// types.GetRunID and types.GetJobID to store.FromGetters.
func ExampleNew_dureq() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	markers, err := postgres.New(store.WithRunResolver(store.FromGetters(getRunID, getJobID)))
	if err != nil {
		log.Fatal(err)
	}
	if err := markers.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}

	// dureq's worker puts the IDs into the context of each delivery.
	handlerCtx := context.WithValue(context.WithValue(ctx, dureqKey(1), "report-8-run-1"), dureqKey(2), "report-8")
	err = postgres.RunTx(handlerCtx, db, nil, func(tx *sql.Tx) error {
		return markers.Complete(handlerCtx, tx)
	})
	if err != nil {
		log.Fatal(err)
	}
	outcome, err := markers.Outcome(handlerCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(outcome.Status, outcome.JobID)
	// Output:
	// completed report-8
}
