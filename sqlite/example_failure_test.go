package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"

	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// ExampleFailTx records that a run failed for good, so that a redelivery
// reads the stored failure instead of trying again.
func ExampleFailTx() {
	ctx := context.Background()
	db, cleanup := openExampleDB(ctx, "mail.db")
	defer cleanup()

	runCtx := store.WithRun(ctx, "welcome-mail-9-run-1", "welcome-mail-9")
	bounce := errors.New("mailbox user@example.com does not exist")
	err := sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error { return sqlite.FailTx(runCtx, tx, bounce) })
	if err != nil {
		log.Fatal(err)
	}

	// A redelivery tries to complete the run and gets the stored failure.
	err = sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error { return sqlite.CompleteTx(runCtx, tx) })
	fmt.Println("already failed:", errors.Is(err, sqlite.ErrAlreadyFailed))
	o, err := sqlite.Outcome(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", o.Status, o.Message)
	// Output:
	// already failed: true
	// failed: mailbox user@example.com does not exist
}
