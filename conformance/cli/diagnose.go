package cli

import (
	"fmt"

	"github.com/dureqsql/completion/conformance"
)

// describeSetupError returns the message for a driver whose database could
// not be opened, reached or prepared: the problem, what to do about it,
// where the DSN came from and the driver's error, with passwords removed.
func describeSetupError(setupErr *conformance.SetupError, target *Target, cfg Config, secrets *redactor) string {
	problem, fix := "cannot open or prepare the database", "check that the DSN points at the database and may be opened, and read the driver error below"
	if cfg.Diagnose != nil {
		problem, fix = cfg.Diagnose(setupErr.Err, target.DSN)
	}
	return secrets.redact(fmt.Sprintf("driver %s: %s\nTo fix it, %s.\nThe DSN %s came from the %s.\nDriver error: %v",
		setupErr.Driver, problem, fix, secrets.redactDSN(target.DSN), target.Source, setupErr.Err))
}
