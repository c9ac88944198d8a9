// Package store is the dialect-neutral logic of completion markers: run
// identity in the context, validation, the outcome and checkpoint rules, and
// error wrapping. A SQL database plugs in through package dialect; package
// postgres is the PostgreSQL dialect with the documented API.
//
// Store's methods take a Querier, which *sql.Tx, *sql.DB and *sql.Conn
// implement. Write markers with the handler's *sql.Tx, so that they commit
// or roll back with the business rows.
//
// Every error this package returns starts with "dureq: ". The sentinels
// match with errors.Is. Errors from the database are *Error values that wrap
// the driver's error, and IsRetryable reports whether the whole transaction
// may be retried.
package store
