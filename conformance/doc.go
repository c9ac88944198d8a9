// Package conformance is the suite that every SQL dialect of this module is
// judged by. It runs each rule of the contract (outcomes, checkpoints,
// validation, schema, races, errors and pruning) as a named case, such as
// "checkpoint/binary-data-round-trip", once per database/sql driver.
//
// A dialect author calls Test from a go test function:
//
//	func TestConformance(t *testing.T) {
//		conformance.Test(t, conformance.Config{
//			Dialect: mydialect.Dialect{},
//			Drivers: []conformance.Driver{{Name: "mydriver", Open: openMyDatabase}},
//		})
//	}
//
// and the conformance binary calls Run, which reports each case as it
// finishes. Each run per driver works in a schema of its own with a random
// name. It drops the schema at the end, also when a case fails or panics or
// the context is canceled, so the suite is safe to point at a shared
// database.
// A dialect whose database has no schemas (it does not implement
// dialect.Namespacer) gets a fresh database from its Open function instead.
//
// Cases that need a capability the dialect does not declare are skipped, and
// the reason is reported with the skip.
package conformance
