package safehttp

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"   ", 0, false}, {"soon", 0, false}, {"-3", 0, false}, {"1.5", 0, false},
		{"99999999999999999999", 0, false}, // not an int64: unreadable
		{"0", 0, true}, {"7", 7 * time.Second, true}, {" 2 ", 2 * time.Second, true},
		{"90000", 25 * time.Hour, true}, // no cap: that is the caller's
		{"9223372036854775807", math.MaxInt64, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), 48 * time.Hour, true},
	} {
		if got, ok := ParseRetryAfter(tc.v, now); got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v, want %s, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}
