// Package load is a small closed-model HTTP load driver for the
// benchmarks: a fixed number of workers send requests back to back for a
// fixed time, and every latency is kept so the percentiles are exact.
// Workers share nothing but an atomic counter, so the driver itself adds
// little to what it measures.
package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one measurement.
type Config struct {
	// Workers is the number of concurrent requests (the closed model's
	// concurrency).
	Workers int
	// Duration is how long requests are sent; Warmup runs first and is
	// not counted.
	Duration time.Duration
	Warmup   time.Duration
	// Request builds the i-th request (i counts from 0 across workers).
	Request func(i int64) (*http.Request, error)
	// Check, when set, judges each answer (body read in full); an error
	// counts the request as failed.
	Check func(status int, body []byte) error
	// Client sends the requests; nil means a client with keep-alive and
	// enough idle connections for the workers.
	Client *http.Client
}

// Result summarises a measurement.
type Result struct {
	Requests int64
	Errors   int64
	// FirstError is the first failure seen, for the report.
	FirstError string
	Elapsed    time.Duration
	// PerSecond counts successful requests per second.
	PerSecond     float64
	P50, P90, P99 time.Duration
	Max           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d req (%d errors) in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s",
		r.Requests, r.Errors, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P90, r.P99, r.Max)
}

// Run measures cfg.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Workers <= 0 || cfg.Duration <= 0 || cfg.Request == nil {
		return Result{}, fmt.Errorf("load: Workers, Duration and Request are required")
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{MaxIdleConns: cfg.Workers * 2, MaxIdleConnsPerHost: cfg.Workers * 2,
			IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	}
	var seq atomic.Int64
	one := func(ctx context.Context) (time.Duration, error) {
		req, err := cfg.Request(seq.Add(1) - 1)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		res, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err != nil {
			return took, err
		}
		if cfg.Check != nil {
			err = cfg.Check(res.StatusCode, body)
		} else if res.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
		return took, err
	}
	phase := func(d time.Duration, record bool) ([][]time.Duration, []int64, []string) {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		lat := make([][]time.Duration, cfg.Workers)
		errs := make([]int64, cfg.Workers)
		first := make([]string, cfg.Workers)
		var wg sync.WaitGroup
		for w := range cfg.Workers {
			wg.Go(func() {
				for pctx.Err() == nil {
					took, err := one(pctx)
					if pctx.Err() != nil {
						return // cut off by the deadline: neither counted nor failed
					}
					if !record {
						continue
					}
					if err != nil {
						errs[w]++
						if first[w] == "" {
							first[w] = err.Error()
						}
						continue
					}
					lat[w] = append(lat[w], took)
				}
			})
		}
		wg.Wait()
		return lat, errs, first
	}
	if cfg.Warmup > 0 {
		phase(cfg.Warmup, false)
	}
	start := time.Now()
	lat, errs, first := phase(cfg.Duration, true)
	res := Result{Elapsed: time.Since(start)}
	var all []time.Duration
	for w := range lat {
		all = append(all, lat[w]...)
		res.Errors += errs[w]
		if res.FirstError == "" {
			res.FirstError = first[w]
		}
	}
	slices.Sort(all)
	res.Requests = int64(len(all)) + res.Errors
	if len(all) > 0 {
		res.PerSecond = float64(len(all)) / res.Elapsed.Seconds()
		res.P50, res.P90, res.P99 = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99)
		res.Max = all[len(all)-1]
	}
	return res, ctx.Err()
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
