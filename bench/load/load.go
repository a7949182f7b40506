// Package load is a small HTTP load driver for the benchmarks. In the
// closed model a fixed number of workers send requests back to back for a
// fixed time (the maximum throughput at that concurrency); in the open
// model (Config.Rate) requests are issued at a fixed rate whatever the
// answers (latency at a given load). Every latency is kept so the
// percentiles are exact. Workers share little (an atomic counter, a
// channel in the open model), so the driver itself adds little to what it
// measures.
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
	// concurrency); in the open model, the cap on requests in flight.
	Workers int
	// Rate, when above 0, selects the open model: a request is due every
	// 1/Rate seconds whether or not earlier ones were answered, and its
	// latency counts from the moment it was due, not from when a worker
	// got to send it, so a stall shows in the latency of every request it
	// delayed (no coordinated omission). When Workers requests are in
	// flight, due requests wait in a queue of up to 100*Workers; a request
	// due while that queue is full is not sent and counts in Missed.
	Rate float64
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
	// Missed counts requests of the open model that fell due while its
	// queue was full: the target could not keep up with the rate.
	Missed int64
	// FirstError is the first failure seen, for the report.
	FirstError string
	Elapsed    time.Duration
	// PerSecond counts successful requests per second.
	PerSecond     float64
	P50, P90, P99 time.Duration
	Max           time.Duration
}

func (r Result) String() string {
	missed := ""
	if r.Missed > 0 {
		missed = fmt.Sprintf(", %d missed", r.Missed)
	}
	return fmt.Sprintf("%d req (%d errors%s) in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s",
		r.Requests, r.Errors, missed, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P90, r.P99, r.Max)
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
	// one sends a request; its latency counts from start (now, or when an
	// open-model request fell due).
	one := func(ctx context.Context, start time.Time) (time.Duration, error) {
		req, err := cfg.Request(seq.Add(1) - 1)
		if err != nil {
			return 0, err
		}
		if start.IsZero() {
			start = time.Now()
		}
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
	var missed atomic.Int64
	phase := func(d time.Duration, record bool) ([][]time.Duration, []int64, []string) {
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		lat := make([][]time.Duration, cfg.Workers)
		errs := make([]int64, cfg.Workers)
		first := make([]string, cfg.Workers)
		// next is when the worker's next request is due: now in the closed
		// model, the schedule's next slot in the open one.
		next := func() (time.Time, bool) { return time.Time{}, true }
		if cfg.Rate > 0 {
			due := make(chan time.Time, 100*cfg.Workers)
			go schedule(pctx, cfg.Rate, due, func() {
				if record {
					missed.Add(1)
				}
			})
			next = func() (time.Time, bool) {
				select {
				case t := <-due:
					return t, true
				case <-pctx.Done():
					return time.Time{}, false
				}
			}
		}
		var wg sync.WaitGroup
		for w := range cfg.Workers {
			wg.Go(func() {
				for pctx.Err() == nil {
					start, ok := next()
					if !ok {
						return
					}
					took, err := one(pctx, start)
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
	res := Result{Elapsed: time.Since(start), Missed: missed.Load()}
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

// schedule puts a due time on due every 1/rate seconds until ctx ends;
// when due is full it calls miss instead. Due times are computed from the
// start, so a late wake-up does not shift the schedule.
func schedule(ctx context.Context, rate float64, due chan<- time.Time, miss func()) {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for k := int64(0); ; k++ {
		t := start.Add(time.Duration(k) * interval)
		if wait := time.Until(t); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		select {
		case due <- t:
		default:
			miss()
		}
	}
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
