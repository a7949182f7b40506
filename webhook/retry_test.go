package webhook

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestRetryWait(t *testing.T) {
	sched := StandardSchedule
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	if !slices.Equal(sched, want) {
		t.Fatalf("schedule = %v, want Standard Webhooks' %v", sched, want)
	}
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	for i, step := range want {
		failed := i + 1
		for _, tc := range []struct {
			jitter float64
			lo, hi time.Duration
		}{{0.5, step, step}, {0, step * 9 / 10, step * 9 / 10}, {0.999999, step, step * 11 / 10}} {
			got, ok := retryWait(sched, failed, "", now, tc.jitter)
			if !ok || got < tc.lo || got > tc.hi {
				t.Errorf("after %d failures (jitter %v): wait %v %v, want in [%v, %v]", failed, tc.jitter, got, ok, tc.lo, tc.hi)
			}
		}
	}
	for _, failed := range []int{0, len(want) + 1, 100} {
		if _, ok := retryWait(sched, failed, "", now, 0.5); ok {
			t.Errorf("after %d failures: a retry, want none", failed)
		}
	}
	for _, tc := range []struct {
		failed     int
		retryAfter string
		want       time.Duration
	}{
		{1, "600", 10 * time.Minute},  // longer than the step: honoured
		{3, "600", 30 * time.Minute},  // shorter than the step: the schedule wins
		{1, " 120 ", 2 * time.Minute}, // whitespace
		{1, "-5", 5 * time.Second},    // negative: ignored
		{1, "soon", 5 * time.Second},  // garbage: ignored
		{1, "90000", 5 * time.Second}, // over a day: ignored
		{1, "86400", 24 * time.Hour},  // exactly a day
		{1, "9223372036854775807", 5 * time.Second},
		{1, now.Add(2 * time.Hour).Format(http.TimeFormat), 2 * time.Hour},
		{1, now.Add(-time.Hour).Format(http.TimeFormat), 5 * time.Second},
		{1, now.Add(48 * time.Hour).Format(http.TimeFormat), 5 * time.Second},
	} {
		got, ok := retryWait(sched, tc.failed, tc.retryAfter, now, 0.5)
		if !ok || got != tc.want {
			t.Errorf("after %d failures with Retry-After %q: wait %v %v, want %v", tc.failed, tc.retryAfter, got, ok, tc.want)
		}
	}
}

func TestSenderRetryWaitFollowsItsSchedule(t *testing.T) {
	s := NewSender(Config{RetrySchedule: []time.Duration{time.Second, time.Minute}})
	now := time.Now()
	for failed, step := range map[int]time.Duration{1: time.Second, 2: time.Minute} {
		if got, ok := s.RetryWait(failed, "", now); !ok || got < step*9/10 || got > step*11/10 {
			t.Errorf("after %d failures: %v %v, want %v ± 10%%", failed, got, ok, step)
		}
	}
	if _, ok := s.RetryWait(3, "", now); ok {
		t.Error("a retry after the schedule's end")
	}
	if got, ok := NewSender(Config{}).RetryWait(len(StandardSchedule), "", now); !ok || got < 24*time.Hour*9/10 {
		t.Errorf("default schedule's last step: %v %v, want StandardSchedule's", got, ok)
	}
}
