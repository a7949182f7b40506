package webhook

import (
	"math/rand/v2"
	"time"

	"github.com/crmhub/crmhub/internal/safehttp"
)

// StandardSchedule is the wait before each retry of a failed delivery,
// per Standard Webhooks: about three days in all.
var StandardSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// maxRetryAfter is the longest Retry-After honoured; a longer one is
// ignored in favour of the schedule.
const maxRetryAfter = 24 * time.Hour

// RetryWait is the wait at time now before the next attempt of a delivery
// after `failed` failed attempts, the last of which was answered with
// Retry-After retryAfter (or ""): see retryWait. It returns false when the
// schedule is exhausted and the delivery has failed for good.
func (s *Sender) RetryWait(failed int, retryAfter string, now time.Time) (time.Duration, bool) {
	return retryWait(s.cfg.RetrySchedule, failed, retryAfter, now, rand.Float64())
}

// retryWait is the wait before the next attempt after `failed` failed
// attempts: the schedule's step with ±10% jitter (jitter is a uniform draw
// in [0, 1)), or Retry-After when that asks for longer (up to
// maxRetryAfter). It returns false when the schedule is exhausted.
func retryWait(schedule []time.Duration, failed int, retryAfter string, now time.Time, jitter float64) (time.Duration, bool) {
	if failed < 1 || failed > len(schedule) {
		return 0, false
	}
	d := schedule[failed-1]
	d += time.Duration((jitter*0.2 - 0.1) * float64(d))
	if ra, ok := safehttp.ParseRetryAfter(retryAfter, now); ok && ra <= maxRetryAfter && ra > d {
		d = ra
	}
	return d, true
}
