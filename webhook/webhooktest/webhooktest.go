// Package webhooktest builds webhook senders for the tests of the packages
// that deliver through one (db, resolver), so that a delivery's whole
// retry schedule passes in a test's time.
package webhooktest

import (
	"time"

	"github.com/crmhub/crmhub/webhook"
)

// NewSender returns the sender of cfg with test defaults where cfg has
// none: three retries 10 ms apart, a 5 s timeout.
func NewSender(cfg webhook.Config) *webhook.Sender {
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return webhook.NewSender(cfg)
}
