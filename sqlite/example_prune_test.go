package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"time"

	"github.com/dureqsql/completion/sqlite"
	"github.com/dureqsql/completion/store"
)

// ExamplePrune deletes the markers of old runs. A pruned run has no
// outcome any more, so a redelivery of it would run again: keep markers
// longer than the job runner may redeliver.
func ExamplePrune() {
	ctx := context.Background()
	db, cleanup := openExampleDB(ctx, "jobs.db")
	defer cleanup()

	runCtx := store.WithRun(ctx, "report-run-1", "report")
	if err := sqlite.RunTx(runCtx, db, nil, func(tx *sql.Tx) error { return sqlite.CompleteTx(runCtx, tx) }); err != nil {
		log.Fatal(err)
	}
	o, err := sqlite.Outcome(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("outcome:", o.Status)

	// The marker was written at o.At, so a cutoff at that time keeps it.
	deletedAtCutoff, err := sqlite.Prune(ctx, db, o.At)
	if err != nil {
		log.Fatal(err)
	}
	deletedLater, err := sqlite.Prune(ctx, db, o.At.Add(time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	o, err = sqlite.Outcome(runCtx, db)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cutoff at the marker's time deleted %d, a millisecond later %d\n", deletedAtCutoff, deletedLater)
	fmt.Println("outcome after pruning:", o.Status)
	// Output:
	// outcome: completed
	// cutoff at the marker's time deleted 0, a millisecond later 1
	// outcome after pruning: none
}
