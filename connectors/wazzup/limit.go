package wazzup

import (
	"errors"
	"sync"
)

// batchLimit is the most records the connector sends in one write: MaxBatch
// until Wazzup names a smaller limit in a TOO_MACH_ENTITIES answer, then
// that limit, for the rest of the connector's life (one sync run).
type batchLimit struct {
	mu sync.Mutex
	n  int
}

func (l *batchLimit) get() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n <= 0 {
		return MaxBatch
	}
	return l.n
}

func (l *batchLimit) lower(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > 0 && (l.n <= 0 || n < l.n) {
		l.n = n
	}
}

// sendWithinLimit sends batch (whose records sit at pos in the caller's
// input) in chunks no larger than lim, each with sendDroppingRejected.
// When Wazzup refuses a chunk with TOO_MACH_ENTITIES naming a limit below
// the chunk's size, nothing of it was stored: lim is lowered to that limit
// and the chunk is sent again, split. A TOO_MACH_ENTITIES without a usable
// limit is returned like any other error.
func sendWithinLimit[T any](lim *batchLimit, batch []T, pos []int, results []error, send func([]T) error) error {
	for len(batch) > 0 {
		n := min(len(batch), lim.get())
		err := sendDroppingRejected(batch[:n], pos[:n], results, send)
		var tm *TooManyEntitiesError
		if errors.As(err, &tm) && tm.Limit > 0 && tm.Limit < n {
			lim.lower(tm.Limit)
			continue
		}
		if err != nil {
			return err
		}
		batch, pos = batch[n:], pos[n:]
	}
	return nil
}
