// Command orders plays a job runner that charges orders, to show that each
// order is charged once however its runs are delivered. It delivers each
// order's run to a handler, redelivers a run whose acknowledgement a crash
// lost, redelivers a run whose handler crashed before it committed, races
// two deliveries of one run, and fails one order for good.
//
// It connects to DATABASE_URL or, like the conformance binary, finds or
// starts a PostgreSQL by itself, and works in a schema of its own that it
// drops at the end.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dureqsql/completion/internal/pgtarget"
	"github.com/dureqsql/completion/postgres"
	"github.com/dureqsql/completion/store"
)

func main() {
	ctx := context.Background()
	target, err := pgtarget.Find(ctx, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer target.Close()
	db, err := sql.Open("pgx", target.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer db.Close()
	if err := runDemo(ctx, db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

// shop is the demo's database: a marker store and a charges table in a
// schema of its own.
type shop struct {
	db      *sql.DB
	markers *store.Store
	charges string // the charges table, schema-qualified
}

// errCrash stands for a worker that dies in the middle of a handler.
var errCrash = errors.New("worker crashed before COMMIT")

// errDeclined is the permanent failure of order 5.
var errDeclined = errors.New("card declined")

// chargeOrder is the job handler. It charges the order and completes the
// run in one transaction through RunTx, so a redelivered run charges
// nothing. crash makes it fail after the charge, before COMMIT.
func (s *shop) chargeOrder(ctx context.Context, order int, crash bool) error {
	return postgres.RunTx(ctx, s.db, nil, func(tx *sql.Tx) error {
		if order == 5 {
			return s.markers.Fail(ctx, tx, errDeclined)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+s.charges+" (order_id) VALUES ($1)", order); err != nil {
			return err
		}
		if crash {
			return errCrash
		}
		return s.markers.Complete(ctx, tx)
	})
}

// deliver runs one delivery of order's run and prints what the handler
// returned and how often the order is charged afterwards.
func (s *shop) deliver(ctx context.Context, out io.Writer, order int, crash bool) error {
	runCtx := store.WithRun(ctx, fmt.Sprintf("charge-order-%d-run-1", order), fmt.Sprintf("charge-order-%d", order))
	result := "nil"
	if err := s.chargeOrder(runCtx, order, crash); err != nil {
		result = err.Error()
	}
	charges, err := s.countCharges(ctx, order)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "order %d: handler returned %s; charges: %d\n", order, result, charges)
	return nil
}

func (s *shop) countCharges(ctx context.Context, order int) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+s.charges+" WHERE order_id = $1", order).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count charges: %w", err)
	}
	return n, nil
}

// runDemo plays the job runner against db and prints each delivery with the
// order's charges after it.
func runDemo(ctx context.Context, db *sql.DB, out io.Writer) error {
	s, cleanup, err := newShop(ctx, db)
	if err != nil {
		return err
	}
	defer cleanup()

	deliveries := []struct {
		order int
		crash bool
	}{
		// Order 1: one delivery.
		{1, false},
		// Order 2: the worker commits, then crashes before the runner
		// records success, so the runner delivers the run again.
		{2, false}, {2, false},
		// Order 3: the worker crashes before COMMIT, and the runner
		// delivers the run again.
		{3, true}, {3, false},
		// Order 5: the card is declined, a permanent failure, and a
		// redelivery finds the failed outcome.
		{5, false}, {5, false},
	}
	for _, d := range deliveries {
		if err := s.deliver(ctx, out, d.order, d.crash); err != nil {
			return err
		}
	}

	// Order 4: two workers get the same run at once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.deliver(ctx, io.Discard, 4, false)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	charges, err := s.countCharges(ctx, 4)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "order 4: two deliveries at once; charges: %d\n", charges)
	return nil
}

// newShop creates a schema with a random name, the marker table and the
// charges table in it. cleanup drops the schema.
func newShop(ctx context.Context, db *sql.DB) (*shop, func(), error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "orders_demo_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	cleanup := func() {
		if _, err := db.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "orders: drop schema %s: %v\n", schema, err)
		}
	}
	markers, err := postgres.New(store.WithSchema(schema))
	if err == nil {
		err = markers.EnsureTable(ctx, db)
	}
	if err == nil {
		_, err = db.ExecContext(ctx, "CREATE TABLE "+schema+".charges (order_id int NOT NULL)")
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return &shop{db: db, markers: markers, charges: schema + ".charges"}, cleanup, nil
}
