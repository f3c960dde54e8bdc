package players

import (
	"strconv"
	"time"
)

// when formats a time for tables, or "never".
func when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func banEnd(t *time.Time) string {
	if t == nil {
		return "permanent"
	}
	return when(t)
}

func itoa(n int) string { return strconv.Itoa(n) }
