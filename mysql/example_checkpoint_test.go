package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// issueInvoice is the first step of a handler that works in two
// transactions. It checkpoints the invoice it issues, so that a redelivery
// after a crash before the second step reuses that invoice instead of
// issuing another.
func issueInvoice(ctx context.Context, db *sql.DB) (invoice []byte, reused bool, err error) {
	done, data, err := mysql.IsCheckpointed(ctx, db, "issue-invoice")
	if err != nil || done {
		return data, done, err
	}
	invoice = []byte("invoice INV-2001")
	err = mysql.RunTx(ctx, db, nil, func(tx *sql.Tx) error {
		return mysql.CheckpointTx(ctx, tx, "issue-invoice", invoice)
	})
	return invoice, false, err
}

// ExampleCheckpointTx runs the first step twice, as a redelivery after a
// crash between the steps does, and completes the run after the second.
func ExampleCheckpointTx() {
	ctx := context.Background()
	db := exampleDB(ctx)
	defer db.Close()
	runCtx := store.WithRun(ctx, "invoice-order-7-run-1", "invoice-order-7")

	for range 2 {
		invoice, reused, err := issueInvoice(runCtx, db)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s, reused: %t\n", invoice, reused)
	}
	err := mysql.RunTx(runCtx, db, nil, func(tx *sql.Tx) error {
		return mysql.CompleteTx(runCtx, tx)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("mailed the invoice and completed the run")
	// Output:
	// invoice INV-2001, reused: false
	// invoice INV-2001, reused: true
	// mailed the invoice and completed the run
}
