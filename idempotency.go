package crmhub

import (
	"context"
	"time"
)

// Idempotency keys (the Idempotency-Key header of a mutation request).
const (
	// MaxIdempotencyKeyLength bounds a key, in bytes.
	MaxIdempotencyKeyLength = 255
	// IdempotencyKeyTTL is how long a request's answer is kept for its key.
	IdempotencyKeyTTL = 24 * time.Hour
)

// ValidIdempotencyKey reports whether k is 1 to MaxIdempotencyKeyLength
// visible ASCII characters.
func ValidIdempotencyKey(k string) bool { return VisibleASCII(k, MaxIdempotencyKeyLength) }

// StoredResponse is the answer kept for an idempotency key.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotencyService keeps the answers of requests sent with an
// idempotency key, per API key, for IdempotencyKeyTTL, where every process
// of the service sees them.
type IdempotencyService interface {
	// Claim starts the request with hash under the caller's key. It
	// returns nil when the caller should run the request (then Complete or
	// Release), the stored answer when the same request already finished,
	// EIDEMPOTENCYREUSED when the key came with another request, and
	// ECONFLICT while the first request still runs.
	Claim(ctx context.Context, key string, hash []byte) (*StoredResponse, error)
	// Complete stores the answer of a claimed request.
	Complete(ctx context.Context, key string, resp StoredResponse) error
	// Release forgets a claim whose request ended without an answer to
	// keep, so that a retry runs it.
	Release(ctx context.Context, key string) error
}
