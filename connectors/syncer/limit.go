package syncer

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// limitedClient paces the requests of one run to perMinute (0: no pacing
// beyond the connector's own), on top of base's transport.
func limitedClient(base *http.Client, perMinute int) *http.Client {
	if perMinute <= 0 {
		return base
	}
	c := *base
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	every := time.Minute / time.Duration(perMinute)
	c.Transport = &pacedTransport{next: next, limiter: rate.NewLimiter(rate.Every(every), 1)}
	return &c
}

type pacedTransport struct {
	next    http.RoundTripper
	limiter *rate.Limiter
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// fingerprint hashes a remote record as the connector returned it. Go's
// JSON encoding sorts map keys, so equal records hash equal.
func fingerprint(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil // never equal to a stored fingerprint: the record is written
	}
	sum := sha256.Sum256(b)
	return sum[:]
}
