package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	_ "github.com/go-sql-driver/mysql"

	"github.com/dureqsql/completion/mysql"
	"github.com/dureqsql/completion/store"
)

// exampleDB opens the database that MYSQL_DSN names, such as
// root@tcp(127.0.0.1:3306)/test, and creates the marker table in it.
func exampleDB(ctx context.Context) *sql.DB {
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	if err := mysql.EnsureTable(ctx, db); err != nil {
		log.Fatal(err)
	}
	return db
}

// shipOrder is a job handler: it records a shipment and completes the run
// in one transaction, which RunTx retries after a deadlock or a lost
// connection. RunTx returns nil when CompleteTx finds the run completed by
// an earlier delivery, after rolling back this delivery's shipment.
func shipOrder(ctx context.Context, db *sql.DB, orderID int) (shipped bool, err error) {
	err = mysql.RunTx(ctx, db, nil, func(tx *sql.Tx) error {
		shipped = false
		if _, err := tx.ExecContext(ctx, "INSERT INTO shipments (order_id) VALUES (?)", orderID); err != nil {
			return err
		}
		if err := mysql.CompleteTx(ctx, tx); err != nil {
			return err
		}
		shipped = true
		return nil
	})
	return shipped, err
}

// Example_handler delivers the same run twice, as a job runner does after a
// crash, and ships the order once.
func Example_handler() {
	ctx := context.Background()
	db := exampleDB(ctx)
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS shipments (order_id INT NOT NULL) ENGINE=InnoDB"); err != nil {
		log.Fatal(err)
	}

	// The job runner gives each run an ID that stays the same on redelivery.
	runCtx := store.WithRun(ctx, "ship-order-42-run-1", "ship-order-42")
	for _, delivery := range []string{"first delivery", "redelivery after a crash"} {
		shipped, err := shipOrder(runCtx, db, 42)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s shipped the order: %t\n", delivery, shipped)
	}

	var shipments int
	row := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM shipments WHERE order_id = ?", 42)
	if err := row.Scan(&shipments); err != nil {
		log.Fatal(err)
	}
	fmt.Println("shipments of order 42:", shipments)
	// Output:
	// first delivery shipped the order: true
	// redelivery after a crash shipped the order: false
	// shipments of order 42: 1
}
