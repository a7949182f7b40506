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
