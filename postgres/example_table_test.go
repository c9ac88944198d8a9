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

// ExampleNew keeps markers in a table of its own instead of
// dureq_completions. Store methods take the transaction like the
// package-level functions do.
func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	billing, err := postgres.New(store.WithTable("Billing Completions"))
	if err != nil {
		log.Fatal(err)
	}
	if err := billing.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}

	runCtx := store.WithRun(ctx, "invoice-3-run-1", "invoice-3")
	tx, err := db.BeginTx(runCtx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if err := billing.Complete(runCtx, tx); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}

	inBilling, err := billing.IsCompleted(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	inDefault, err := postgres.IsCompleted(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("completed in the billing table:", inBilling)
	fmt.Println("completed in dureq_completions:", inDefault)
	// Output:
	// completed in the billing table: true
	// completed in dureq_completions: false
}
