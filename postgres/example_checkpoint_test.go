package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	_ "github.com/lib/pq"

	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

// ExampleCheckpointTx shows a handler that works in two transactions and
// checkpoints the first, so that a redelivery after a crash between them
// skips the finished step and reuses its result.
func ExampleCheckpointTx() {
	ctx := context.Background()
	db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := postgres.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}
	runCtx := store.WithRun(ctx, "ship-order-7-run-1", "ship-order-7")

	reserve := func() []byte {
		done, data, err := postgres.IsCheckpointed(runCtx, db, "reserve-stock")
		if err != nil {
			log.Fatal(err)
		}
		if done {
			fmt.Printf("reserve-stock already done: %s\n", data)
			return data
		}
		tx, err := db.BeginTx(runCtx, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer tx.Rollback()
		reservation := []byte("reservation R-1001")
		if err := postgres.CheckpointTx(runCtx, tx, "reserve-stock", reservation); err != nil {
			log.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("reserve-stock done: %s\n", reservation)
		return reservation
	}

	// The first delivery reserves stock, then crashes before shipping.
	reserve()
	// The redelivery finds the checkpoint and ships with its data.
	reservation := reserve()
	tx, err := db.BeginTx(runCtx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	if err := postgres.CompleteTx(runCtx, tx); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("shipped with %s\n", reservation)
	// Output:
	// reserve-stock done: reservation R-1001
	// reserve-stock already done: reservation R-1001
	// shipped with reservation R-1001
}
