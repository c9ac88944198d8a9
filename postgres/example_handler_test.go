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

// chargeOrder is a job handler: it charges an order and completes the run
// in one transaction, so a redelivered run charges nothing.
func chargeOrder(ctx context.Context, db *sql.DB, orderID int) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, "INSERT INTO charges (order_id) VALUES ($1)", orderID); err != nil {
		return "", err
	}
	err = postgres.CompleteTx(ctx, tx)
	if errors.Is(err, postgres.ErrAlreadyCompleted) {
		// An earlier delivery charged the order. Rolling back drops this
		// delivery's charge.
		return "already completed, nothing to do", nil
	}
	if err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	return fmt.Sprintf("charged order %d", orderID), nil
}

// Example_handler delivers the same run twice, as a job runner does after a
// crash, and charges the order once.
func Example_handler() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := postgres.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS charges (order_id int NOT NULL)"); err != nil {
		log.Fatal(err)
	}

	// The job runner gives each run an ID that stays the same on redelivery.
	runCtx := store.WithRun(ctx, "charge-order-42-run-1", "charge-order-42")
	for delivery := 1; delivery <= 2; delivery++ {
		result, err := chargeOrder(runCtx, db, 42)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("delivery %d: %s\n", delivery, result)
	}

	var charges int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM charges WHERE order_id = 42").Scan(&charges); err != nil {
		log.Fatal(err)
	}
	fmt.Println("charges:", charges)
	// Output:
	// delivery 1: charged order 42
	// delivery 2: already completed, nothing to do
	// charges: 1
}
