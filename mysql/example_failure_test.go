package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"

	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// ExampleFailTx records that a run failed for good, so that a redelivery
// reads the stored failure with Outcome instead of running again.
func ExampleFailTx() {
	ctx := context.Background()
	db := exampleDB(ctx)
	defer db.Close()
	runCtx := store.WithRun(ctx, "refund-order-9-run-1", "refund-order-9")

	err := mysql.RunTx(runCtx, db, nil, func(tx *sql.Tx) error {
		return mysql.FailTx(runCtx, tx, errors.New("card expired"))
	})
	if err != nil {
		log.Fatal(err)
	}

	// The redelivery checks the outcome first.
	o, err := mysql.Outcome(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("outcome: %s, message: %s\n", o.Status, o.Message)

	// Completing a failed run returns the stored failure.
	err = mysql.RunTx(runCtx, db, nil, func(tx *sql.Tx) error {
		return mysql.CompleteTx(runCtx, tx)
	})
	fmt.Println(errors.Is(err, mysql.ErrAlreadyFailed), err)
	// Output:
	// outcome: failed, message: card expired
	// true dureq: run "refund-order-9-run-1" already failed: card expired
}
