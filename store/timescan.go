package store

import (
	"fmt"
	"time"
)

// timeLayouts are the text forms of a timestamp that dbTime accepts, for
// drivers that return timestamps as text (for example MySQL's without
// parseTime, or SQLite's).
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
}

// dbTime scans a marker's creation time, which a driver returns as a
// time.Time or as text in one of timeLayouts. Text without a zone is read
// as UTC, which is why dialects must store the time in UTC.
type dbTime struct {
	t time.Time
}

func (d *dbTime) Scan(value any) error {
	switch v := value.(type) {
	case time.Time:
		d.t = v
		return nil
	case []byte:
		return d.parse(string(v))
	case string:
		return d.parse(v)
	}
	return fmt.Errorf("scan creation time: unsupported type %T; the dialect must return a timestamp or its text", value)
}

func (d *dbTime) parse(text string) error {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			d.t = t
			return nil
		}
	}
	return fmt.Errorf("scan creation time: %q is in no known layout, such as 2006-01-02 15:04:05.999999", text)
}
