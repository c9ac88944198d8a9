package cli

import (
	"encoding/xml"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dureqsql/completion/conformance"
)

// The JUnit XML elements, in the form that CI systems such as Jenkins,
// GitLab and GitHub Actions reporters read: one testsuite per driver, one
// testcase per case, and failure, error or skipped elements that carry the
// case's messages.
type (
	junitTestsuites struct {
		XMLName  xml.Name         `xml:"testsuites"`
		Name     string           `xml:"name,attr"`
		Tests    int              `xml:"tests,attr"`
		Failures int              `xml:"failures,attr"`
		Errors   int              `xml:"errors,attr"`
		Skipped  int              `xml:"skipped,attr"`
		Time     string           `xml:"time,attr"`
		Suites   []junitTestsuite `xml:"testsuite"`
	}
	junitTestsuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Testcases  []junitTestcase `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitTestcase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure,omitempty"`
		Error     *junitMessage `xml:"error,omitempty"`
		Skipped   *junitMessage `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	// junitMessage is a failure, error or skipped element: its message
	// attribute is the first line, and its text is every message.
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// writeJUnit writes the results so far to file as JUnit XML and closes it.
// A driver whose database could not be prepared gets a testsuite with one
// testcase named "setup" that carries the error.
func (r *runner) writeJUnit(file *os.File) error {
	doc := r.junitDocument()
	if _, err := file.WriteString(xml.Header); err != nil {
		file.Close()
		return err
	}
	enc := xml.NewEncoder(file)
	enc.Indent("", "  ")
	err := enc.Encode(doc)
	if err == nil {
		_, err = file.WriteString("\n")
	}
	return errors.Join(err, file.Close())
}

// junitDocument builds the JUnit document from the runner's results.
func (r *runner) junitDocument() junitTestsuites {
	doc := junitTestsuites{Name: "conformance"}
	var timestamp string
	if !r.started.IsZero() {
		timestamp = r.started.Format("2006-01-02T15:04:05")
	}
	properties := []junitProperty{{Name: "dialect", Value: r.cfg.Dialect.Name()}}
	var total time.Duration

	for _, name := range r.ranDrivers {
		suite := junitTestsuite{Name: name, Timestamp: timestamp, Properties: properties}
		var elapsed time.Duration
		for _, res := range r.results {
			if res.Driver != name {
				continue
			}
			suite.Testcases = append(suite.Testcases, r.junitTestcase(res))
			suite.Tests++
			switch res.Status {
			case conformance.StatusFail:
				suite.Failures++
			case conformance.StatusSkip:
				suite.Skipped++
			}
			elapsed += res.Duration
		}
		suite.Time = formatSeconds(elapsed)
		total += elapsed
		doc.add(suite)
	}

	if r.setupErr != nil {
		msg := r.setupMessage
		doc.add(junitTestsuite{
			Name: r.setupErr.Driver, Tests: 1, Errors: 1, Time: formatSeconds(0),
			Timestamp: timestamp, Properties: properties,
			Testcases: []junitTestcase{{
				Name:      "setup",
				Classname: "conformance." + r.setupErr.Driver,
				Time:      formatSeconds(0),
				Error:     &junitMessage{Message: firstLine(msg), Type: "setup", Text: msg},
			}},
		})
	}
	doc.Time = formatSeconds(total)
	return doc
}

// add appends suite to the document and adds its counts to the totals.
func (doc *junitTestsuites) add(suite junitTestsuite) {
	doc.Suites = append(doc.Suites, suite)
	doc.Tests += suite.Tests
	doc.Failures += suite.Failures
	doc.Errors += suite.Errors
	doc.Skipped += suite.Skipped
}

func (r *runner) junitTestcase(res conformance.Result) junitTestcase {
	tc := junitTestcase{
		Name:      res.Case,
		Classname: "conformance." + res.Driver,
		Time:      formatSeconds(res.Duration),
	}
	text := strings.Join(res.Messages, "\n")
	switch res.Status {
	case conformance.StatusFail:
		tc.Failure = &junitMessage{Message: firstLine(text), Type: "fail", Text: text}
	case conformance.StatusSkip:
		tc.Skipped = &junitMessage{Message: firstLine(text), Text: text}
	default:
		tc.SystemOut = text
	}
	return tc
}

// formatSeconds returns d in seconds with millisecond precision, the unit
// of JUnit's time attributes.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// firstLine returns the first line of text that is not blank, trimmed.
// Messages from testify start with an empty line.
func firstLine(text string) string {
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
