package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dureqsql/completion/dialect"
)

func TestRunCaseEndings(t *testing.T) {
	r := &driverRun{caps: dialect.Capabilities{}}
	for _, tc := range []struct {
		name     string
		tc       Case
		status   Status
		messages []string
	}{
		{"passing case passes", Case{Check: func(c *C) {}}, StatusPass, nil},
		{"errorf fails and continues", Case{Check: func(c *C) {
			c.Errorf("first")
			c.Errorf("second")
		}}, StatusFail, []string{"first", "second"}},
		{"fatalf ends the case", Case{Check: func(c *C) {
			c.Fatalf("stop")
			c.Errorf("not reached")
		}}, StatusFail, []string{"stop"}},
		{"require failure ends the case", Case{Check: func(c *C) {
			require.Equal(c, 1, 2)
			c.Errorf("not reached")
		}}, StatusFail, nil},
		{"skipf records the reason", Case{Check: func(c *C) {
			c.Skipf("no %s", "schemas")
		}}, StatusSkip, []string{"no schemas"}},
		{"requires skips with reason", Case{
			Requires: func(dialect.Capabilities) string { return "needs writers" },
			Check:    func(c *C) { c.Errorf("must not run") },
		}, StatusSkip, []string{"needs writers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := r.runCase(context.Background(), tc.tc)
			require.Equal(t, tc.status, res.status)
			if tc.messages != nil {
				require.Equal(t, tc.messages, res.messages)
			}
		})
	}
}

func TestRunCasePanicFails(t *testing.T) {
	r := &driverRun{}
	res := r.runCase(context.Background(), Case{Check: func(c *C) { panic("boom") }})
	require.Equal(t, StatusFail, res.status)
	require.Len(t, res.messages, 1)
	require.True(t, strings.HasPrefix(res.messages[0], "panic: boom\n"), res.messages[0])
}

func TestRunCaseCleanupsRunInReverse(t *testing.T) {
	r := &driverRun{}
	var order []int
	res := r.runCase(context.Background(), Case{Check: func(c *C) {
		c.Cleanup(func() { order = append(order, 1) })
		c.Cleanup(func() { order = append(order, 2) })
		c.FailNow()
	}})
	require.Equal(t, StatusFail, res.status)
	require.Equal(t, []int{2, 1}, order)
}

func TestCaseNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	groups := map[string]int{}
	for _, c := range Cases() {
		require.False(t, seen[c.Name], "duplicate case %s", c.Name)
		seen[c.Name] = true
		require.NotEmpty(t, c.Rule, c.Name)
		require.NotNil(t, c.Check, c.Name)
		group, _, ok := strings.Cut(c.Name, "/")
		require.True(t, ok, "case %s has no group prefix", c.Name)
		groups[group]++
	}
	for _, g := range []string{"complete", "fail", "checkpoint", "validate", "schema", "race", "errors", "prune"} {
		require.Positive(t, groups[g], "group %s has no case", g)
	}
	require.GreaterOrEqual(t, len(seen), 40)
}

func TestFailureMessageDropsTrace(t *testing.T) {
	r := &driverRun{}
	res := r.runCase(context.Background(), Case{Check: func(c *C) {
		require.Equal(c, 1, 2, "counted rows")
	}})
	require.Equal(t, StatusFail, res.status)
	require.Len(t, res.messages, 1)
	msg := res.messages[0]
	require.NotContains(t, msg, "Error Trace:")
	require.NotContains(t, msg, "case_test.go")
	require.True(t, strings.HasPrefix(msg, "Error:"), msg)
	require.Contains(t, msg, "expected: 1")
	require.Contains(t, msg, "Messages:   \tcounted rows")
}
