// Package workloads holds the `make bench` workloads, one file each; each
// file registers its workload in an init function, and the report lists
// them in the order of the issue.
package workloads

import (
	"slices"

	"github.com/crmhub/crmhub/bench/run"
)

// order is the report's order; a workload not named here comes last.
var order = []string{"point-read", "nested-page", "resolve", "upsert", "subscriptions", "connector-pull"}

var registered []run.Workload

// register adds a workload; call it from an init function.
func register(w run.Workload) { registered = append(registered, w) }

// All returns the workloads in the report's order.
func All() []run.Workload {
	out := slices.Clone(registered)
	rank := func(name string) int {
		if i := slices.Index(order, name); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(out, func(a, b run.Workload) int { return rank(a.Name) - rank(b.Name) })
	return out
}

// ServeEnv is the environment the runner gives `crmhub serve` beyond the
// database, address and secret key; workloads that need a setting add it
// in their init function. Every workload drives one API key far past a
// client's budget on purpose, so rate limits are off.
var ServeEnv = []string{"CRMHUB_RATE_LIMIT_POINTS=0"}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
