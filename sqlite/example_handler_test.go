package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"

	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// Example_handler delivers the same run three times, as a job runner does
// after crashes, and sends the invoice once. RunTx retries the transaction
// while another writer holds SQLite's lock.
func Example_handler() {
	ctx := context.Background()
	db, cleanup := openExampleDB(ctx, "billing.db")
	defer cleanup()
	if _, err := db.ExecContext(ctx, "CREATE TABLE invoices (customer TEXT NOT NULL)"); err != nil {
		log.Fatal(err)
	}

	// The job runner gives each run an ID that stays the same on redelivery.
	runCtx := store.WithRun(ctx, "invoice-acme-2026-11-run-1", "invoice-acme-2026-11")
	for delivery := 1; delivery <= 3; delivery++ {
		sent := false
		err := sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(runCtx, "INSERT INTO invoices (customer) VALUES (?)", "acme"); err != nil {
				return err
			}
			if err := sqlite.CompleteTx(runCtx, tx); err != nil {
				// RunTx rolls back the invoice above, and returns nil
				// for ErrAlreadyCompleted.
				return err
			}
			sent = true
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("delivery %d sent an invoice: %t\n", delivery, sent)
	}

	var invoices int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM invoices").Scan(&invoices); err != nil {
		log.Fatal(err)
	}
	fmt.Println("invoices:", invoices)
	// Output:
	// delivery 1 sent an invoice: true
	// delivery 2 sent an invoice: false
	// delivery 3 sent an invoice: false
	// invoices: 1
}
