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

// expiry formats when an item expires, or "never".
func expiry(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(t)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// signed formats a change with its sign.
func signed(n int64) string {
	if n > 0 {
		return "+" + i64(n)
	}
	return i64(n)
}
