package main

import (
	"context"
	"database/sql"
	"log"
	"os"
	"testing"

	"github.com/dureqsql/completion/internal/pgtarget"
)

func TestMain(m *testing.M) {
	os.Exit(pgtarget.RunTests(m))
}

// Example_demo runs the demo against the test database.
func Example_demo() {
	db, err := sql.Open("pgx", pgtarget.DSN())
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := runDemo(context.Background(), db, os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// order 1: handler returned nil; charges: 1
	// order 2: handler returned nil; charges: 1
	// order 2: handler returned nil; charges: 1
	// order 3: handler returned worker crashed before COMMIT; charges: 0
	// order 3: handler returned nil; charges: 1
	// order 5: handler returned nil; charges: 0
	// order 5: handler returned dureq: run "charge-order-5-run-1" already failed: card declined; charges: 0
	// order 4: two deliveries at once; charges: 1
}
