// Package wait holds the one context-aware sleep the sync engine, the
// connectors' rate limiters and the fake servers share.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done, whichever comes first; it returns
// ctx.Err() in the second case. Unlike time.Sleep it lets a cancelled run
// or a client that gave up stop waiting at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
