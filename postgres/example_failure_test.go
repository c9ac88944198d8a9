package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// ExampleFailTx records a permanent failure, so that a redelivered run
// stops at once and can report why the first delivery failed.
func ExampleFailTx() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := postgres.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}
	runCtx := store.WithRun(ctx, "refund-order-9-run-1", "refund-order-9")

	tx, err := db.BeginTx(runCtx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := postgres.FailTx(runCtx, tx, errors.New("order 9 was never paid")); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	// A redelivery tries to complete the run and learns that it failed.
	tx, err = db.BeginTx(runCtx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	err = postgres.CompleteTx(runCtx, tx)
	fmt.Println(errors.Is(err, postgres.ErrAlreadyFailed))
	fmt.Println(err)

	outcome, err := postgres.Outcome(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(outcome.Status, outcome.Message)
	// Output:
	// true
	// dureq: run "refund-order-9-run-1" already failed: order 9 was never paid
	// failed order 9 was never paid
}
