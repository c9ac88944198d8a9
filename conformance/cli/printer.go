package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dureqsql/completion/conformance"
)

// printer reports a run as it goes. Its methods are called from one
// goroutine: start once, result for each case as it ends, then finish.
type printer interface {
	start(info startInfo)
	result(res conformance.Result)
	finish(perDriver []summary, total summary)
}

// startInfo describes a run before its first case.
type startInfo struct {
	// dsn is the redacted DSN of the target.
	dsn     string
	source  string
	dialect string
	drivers []string
	// cases is the number of selected cases per driver.
	cases int
}

// summary counts the results of one driver, or of all drivers when driver
// is empty.
type summary struct {
	driver   string
	passed   int
	failed   int
	skipped  int
	duration time.Duration
}

func (s *summary) add(res conformance.Result) {
	switch res.Status {
	case conformance.StatusPass:
		s.passed++
	case conformance.StatusFail:
		s.failed++
	case conformance.StatusSkip:
		s.skipped++
	}
	s.duration += res.Duration
}

// counts returns "N passed, N failed", followed by ", N skipped" when a case
// was skipped.
func (s summary) counts() string {
	text := fmt.Sprintf("%d passed, %d failed", s.passed, s.failed)
	if s.skipped > 0 {
		text += fmt.Sprintf(", %d skipped", s.skipped)
	}
	return text
}

// textPrinter writes the human-readable report: one line per case, the
// messages of failed cases indented below it, a summary line per driver
// and, as the last line, the totals over all drivers.
type textPrinter struct {
	w       io.Writer
	verbose bool
	// driverWidth aligns the case names after the driver column.
	driverWidth int
}

func (p *textPrinter) start(info startInfo) {
	fmt.Fprintf(p.w, "target: %s (from %s)\n", info.dsn, info.source)
	if p.verbose {
		fmt.Fprintf(p.w, "dialect: %s, drivers: %s, cases per driver: %d\n",
			info.dialect, strings.Join(info.drivers, ", "), info.cases)
	}
}

func (p *textPrinter) result(res conformance.Result) {
	line := fmt.Sprintf("%s %-*s %s (%s)", strings.ToUpper(string(res.Status)),
		p.driverWidth, res.Driver, res.Case, formatDuration(res.Duration))
	if res.Status == conformance.StatusSkip && len(res.Messages) > 0 {
		line += ": " + strings.Join(res.Messages, "; ")
		fmt.Fprintln(p.w, strings.ReplaceAll(line, "\n", " "))
		return
	}
	fmt.Fprintln(p.w, line)
	if res.Status == conformance.StatusFail || p.verbose {
		for _, msg := range res.Messages {
			fmt.Fprintln(p.w, indent(msg, "    "))
		}
	}
}

func (p *textPrinter) finish(perDriver []summary, total summary) {
	for _, s := range perDriver {
		fmt.Fprintf(p.w, "%s: %s (%s)\n", s.driver, s.counts(), formatDuration(s.duration))
	}
	fmt.Fprintln(p.w, total.counts())
}

// indent puts prefix before each line of text.
func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n"+prefix)
}

// formatDuration rounds d for display: to microseconds below a
// millisecond, to milliseconds below a second, else to 10 milliseconds.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// The JSON records, one per line. Every record has a "type" field that
// names its kind. Durations are in nanoseconds, as in the
// JSON form of conformance.Result.
type (
	targetRecord struct {
		Type    string   `json:"type"` // "target"
		DSN     string   `json:"dsn"`
		Source  string   `json:"source"`
		Dialect string   `json:"dialect"`
		Drivers []string `json:"drivers"`
		Cases   int      `json:"cases"`
	}
	caseRecord struct {
		Type     string        `json:"type"` // "case"
		Driver   string        `json:"driver"`
		Case     string        `json:"case"`
		Status   string        `json:"status"`
		Duration time.Duration `json:"duration_ns"`
		Messages []string      `json:"messages,omitempty"`
	}
	summaryRecord struct {
		Type     string        `json:"type"` // "summary" per driver, "total" for all drivers
		Driver   string        `json:"driver,omitempty"`
		Passed   int           `json:"passed"`
		Failed   int           `json:"failed"`
		Skipped  int           `json:"skipped"`
		Duration time.Duration `json:"duration_ns"`
	}
	// listRecord is the record of -list -json.
	listRecord struct {
		Case string `json:"case"`
		Rule string `json:"rule"`
	}
)

// jsonPrinter writes one JSON object per line to w and the totals line to
// the human-readable stream, standard error, so that w stays JSON.
type jsonPrinter struct {
	enc   *json.Encoder
	human io.Writer
}

func newJSONPrinter(w, human io.Writer) *jsonPrinter {
	return &jsonPrinter{enc: newJSONEncoder(w), human: human}
}

// newJSONEncoder returns an encoder that leaves <, > and & unescaped, so
// that messages read as they were written.
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// The encoder's errors are ignored like those of fmt.Fprintf in the text
// printer: standard output that cannot be written to cannot report it.

func (p *jsonPrinter) start(info startInfo) {
	_ = p.enc.Encode(targetRecord{
		Type: "target", DSN: info.dsn, Source: info.source,
		Dialect: info.dialect, Drivers: info.drivers, Cases: info.cases,
	})
}

func (p *jsonPrinter) result(res conformance.Result) {
	_ = p.enc.Encode(caseRecord{
		Type: "case", Driver: res.Driver, Case: res.Case, Status: string(res.Status),
		Duration: res.Duration, Messages: res.Messages,
	})
}

func (p *jsonPrinter) finish(perDriver []summary, total summary) {
	for _, s := range perDriver {
		_ = p.enc.Encode(summaryRecord{
			Type: "summary", Driver: s.driver,
			Passed: s.passed, Failed: s.failed, Skipped: s.skipped, Duration: s.duration,
		})
	}
	_ = p.enc.Encode(summaryRecord{
		Type:   "total",
		Passed: total.passed, Failed: total.failed, Skipped: total.skipped, Duration: total.duration,
	})
	fmt.Fprintln(p.human, total.counts())
}
