package run

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmhub/crmhub/bench/load"
)

// Arm is one target of an HTTP comparison: a name ("crmhub", "floor",
// "postgraphile") and its load. Compare fills Duration and Warmup from the
// Env when they are zero.
type Arm struct {
	Name string
	Load load.Config
}

// Results are the measurements of each arm, by name, in round order.
type Results map[string][]load.Result

// Compare measures the arms env.Rounds times each, alternating
// (A, B, C, A, B, C, ...), so that the machine's drift falls on every arm
// alike. A measurement with errors fails the comparison: a fast wrong
// answer is not a result.
func Compare(ctx context.Context, env *Env, arms []Arm) (Results, error) {
	out := Results{}
	for round := range max(1, env.Rounds) {
		for _, a := range arms {
			cfg := a.Load
			if cfg.Duration == 0 {
				cfg.Duration = env.Duration
			}
			if cfg.Warmup == 0 {
				cfg.Warmup = env.Duration / 5
			}
			res, err := load.Run(ctx, cfg)
			if err != nil {
				return out, fmt.Errorf("%s, round %d: %w", a.Name, round+1, err)
			}
			if res.Errors > 0 {
				return out, fmt.Errorf("%s, round %d: %d of %d requests failed, first: %s",
					a.Name, round+1, res.Errors, res.Requests, res.FirstError)
			}
			if env.Log != nil {
				env.Log.Info("measured", "arm", a.Name, "round", round+1, "result", res.String())
			}
			out[a.Name] = append(out[a.Name], res)
		}
	}
	return out, nil
}

// Median is the median of each figure across rounds, taken separately
// (req/s, p50, p99), so it need not be one round's result.
func Median(rs []load.Result) load.Result {
	if len(rs) == 0 {
		return load.Result{}
	}
	pick := func(f func(load.Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return load.Result{
		PerSecond: pick(func(r load.Result) float64 { return r.PerSecond }),
		P50:       time.Duration(pick(func(r load.Result) float64 { return float64(r.P50) })),
		P90:       time.Duration(pick(func(r load.Result) float64 { return float64(r.P90) })),
		P99:       time.Duration(pick(func(r load.Result) float64 { return float64(r.P99) })),
		Max:       time.Duration(pick(func(r load.Result) float64 { return float64(r.Max) })),
		Requests:  int64(pick(func(r load.Result) float64 { return float64(r.Requests) })),
	}
}

// Table is the markdown table of a comparison: per arm, req/s of every
// round and the medians of req/s, p50 and p99.
func Table(arms []string, rs Results) string {
	var b strings.Builder
	b.WriteString("| target | req/s per round | median req/s | median p50 | median p99 |\n|---|---|---|---|---|\n")
	for _, name := range arms {
		var per []string
		for _, r := range rs[name] {
			per = append(per, fmt.Sprintf("%.0f", r.PerSecond))
		}
		m := Median(rs[name])
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s |\n", name, strings.Join(per, ", "), m.PerSecond, Ms(m.P50), Ms(m.P99))
	}
	return b.String()
}

// Ms formats a duration in milliseconds with two decimals.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// RatioOf is median req/s of a over b.
func RatioOf(rs Results, a, b string) float64 {
	mb := Median(rs[b]).PerSecond
	if mb == 0 {
		return 0
	}
	return Median(rs[a]).PerSecond / mb
}
