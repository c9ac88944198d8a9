package dialect

import "testing"

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"", "table name is empty"},
		{"a\xffb", "table name is not valid UTF-8"},
		{"a\x00b", "table name contains a NUL byte"},
		{`Mixed "Case" name; DROP TABLE x`, ""},
	} {
		err := CheckName("table name", tc.name)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// backticks quotes names as MySQL does, to test QualifiedName.
type backticks struct{ Dialect }

func (backticks) QuoteIdentifier(name string) string { return "`" + name + "`" }

func TestQualifiedName(t *testing.T) {
	d := backticks{}
	if got := QualifiedName(d, Table{Name: "markers"}); got != "`markers`" {
		t.Errorf("QualifiedName without schema = %s, want `markers`", got)
	}
	if got := QualifiedName(d, Table{Schema: "jobs", Name: "markers"}); got != "`jobs`.`markers`" {
		t.Errorf("QualifiedName with schema = %s, want `jobs`.`markers`", got)
	}
}
