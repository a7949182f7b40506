package workloads

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmhub/crmhub/bench/load"
	"github.com/crmhub/crmhub/bench/run"
)

// Resolving a contact by a phone number (issue 7): what a messaging
// integration does for every inbound message. The maximum throughput of
// crmhub and the floor (/resolve) is measured closed-model; then crmhub's
// latency at half its own maximum, open-model (requests at a fixed rate,
// latency from when each fell due).
func init() {
	register(run.Workload{Name: "resolve", Run: resolve})
}

const (
	resolveWorkers = 8
	// resolveOpenCap bounds the requests in flight of the open-model run.
	resolveOpenCap = 64
)

const resolveQuery = `query($phone: String!) { resolveContact(identifiers: [{type: PHONE, value: $phone}]) {
  id name email identities { type value } } }`

func resolve(ctx context.Context, env *run.Env) (*run.Section, error) {
	n := pointSample
	if env.Quick {
		n = 100
	}
	phones, err := samplePhones(ctx, env, n)
	if err != nil {
		return nil, err
	}
	vars := func(i int64) map[string]any { return map[string]any{"phone": phones[i%int64(len(phones))]} }
	for _, i := range []int64{0, int64(len(phones)) / 2, int64(len(phones)) - 1} {
		if err := sameAnswers(ctx, env, resolveQuery, "/resolve", vars(i)); err != nil {
			return nil, err
		}
	}
	// A phone nobody has: both answer null.
	if err := sameAnswers(ctx, env, resolveQuery, "/resolve", map[string]any{"phone": "+15550000000"}); err != nil {
		return nil, err
	}

	check := func(status int, body []byte) error {
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"id":"ct_`)) || bytes.Contains(body, []byte(`"errors":`)) {
			return fmt.Errorf("HTTP %d: %.300s", status, body)
		}
		return nil
	}
	crmhubRequest := func(i int64) (*http.Request, error) { return env.CrmhubRequest(resolveQuery, vars(i)) }
	arms := []run.Arm{
		{Name: "crmhub", Load: load.Config{Workers: resolveWorkers, Check: check, Request: crmhubRequest}},
		{Name: "floor", Load: load.Config{Workers: resolveWorkers, Check: check, Request: func(i int64) (*http.Request, error) {
			return env.FloorRequest("/resolve", vars(i))
		}}},
	}
	if env.CrmhubBaseline != nil {
		arms = append(arms, run.Arm{Name: env.CrmhubBaseline.Name, Load: load.Config{Workers: resolveWorkers, Check: check,
			Request: func(i int64) (*http.Request, error) { return env.BaselineRequest(resolveQuery, vars(i)) }}})
	}
	rs, err := run.Compare(ctx, env, arms)
	if err != nil {
		return nil, err
	}
	maxRate := run.Median(rs["crmhub"]).PerSecond
	if maxRate == 0 {
		return nil, fmt.Errorf("crmhub answered no request within %s: measure longer", env.Duration)
	}

	// Half of crmhub's maximum, open model: each round as long as a
	// closed-model one.
	rate := maxRate / 2
	openRun := func(round int, name string, request func(int64) (*http.Request, error)) (load.Result, error) {
		res, err := load.Run(ctx, load.Config{Workers: resolveOpenCap, Rate: rate, Duration: env.Duration,
			Warmup: env.Duration / 5, Check: check, Request: request})
		if err != nil {
			return res, fmt.Errorf("%s open model, round %d: %w", name, round+1, err)
		}
		if res.Errors > 0 {
			return res, fmt.Errorf("%s open model, round %d: %d of %d requests failed, first: %s", name, round+1, res.Errors, res.Requests, res.FirstError)
		}
		if env.Log != nil {
			env.Log.Info("measured", "arm", name+" open model", "round", round+1, "result", res.String())
		}
		return res, nil
	}
	var open, baseOpen, floorOpen []load.Result
	for round := range max(1, env.Rounds) {
		res, err := openRun(round, "crmhub", crmhubRequest)
		if err != nil {
			return nil, err
		}
		open = append(open, res)
		// The floor at the same rate: the tail this machine gives a
		// server that does next to nothing.
		res, err = openRun(round, "floor", func(i int64) (*http.Request, error) { return env.FloorRequest("/resolve", vars(i)) })
		if err != nil {
			return nil, err
		}
		floorOpen = append(floorOpen, res)
		if env.CrmhubBaseline != nil { // the other build at the same rate, alternating
			res, err := openRun(round, env.CrmhubBaseline.Name, func(i int64) (*http.Request, error) {
				return env.BaselineRequest(resolveQuery, vars(i))
			})
			if err != nil {
				return nil, err
			}
			baseOpen = append(baseOpen, res)
		}
	}
	openMedian := run.Median(open)
	var missed int64
	var p99s []string
	for _, r := range open {
		missed += r.Missed
		p99s = append(p99s, run.Ms(r.P99))
	}

	sql, err := sqlPerRequest(ctx, env, 200, resolveWorkers, crmhubRequest)
	if err != nil {
		return nil, err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "One request: resolving a contact by one of its phone numbers\n\n```graphql\n%s\n```\n\n", resolveQuery)
	fmt.Fprintf(&b, "over %d seeded phone identities (request i resolves phone i mod %d). Before timing, the floor's JSON "+
		"was compared with crmhub's for three phones and for a phone nobody has. The floor normalizes the phone "+
		"as crmhub does (in Go) and answers with one pgx batch: tenant, key check and one statement that finds "+
		"the identity's contact and builds the JSON.\n\n", len(phones), len(phones))
	fmt.Fprintf(&b, "Maximum throughput, closed model, %d requests in flight per target:\n\n", resolveWorkers)
	b.WriteString(run.Table(armNames(arms), rs))
	fmt.Fprintf(&b, "\nLatency at half of crmhub's maximum: requests to crmhub at a fixed %.0f req/s (open model: each "+
		"falls due on schedule whatever the answers, its latency counts from when it fell due, at most %d in "+
		"flight), %d round(s) of %s: p50 %s, p90 %s, p99 %s (per round: %s), %d requests missed.\n",
		rate, resolveOpenCap, len(open), env.Duration, run.Ms(openMedian.P50), run.Ms(openMedian.P90), run.Ms(openMedian.P99),
		strings.Join(p99s, ", "), missed)
	type openArm struct {
		name string
		res  []load.Result
	}
	others := []openArm{{"The floor", floorOpen}}
	if len(baseOpen) > 0 {
		others = append(others, openArm{env.CrmhubBaseline.Name, baseOpen})
	}
	for _, o := range others {
		m := run.Median(o.res)
		var per []string
		var missed int64
		for _, r := range o.res {
			per = append(per, run.Ms(r.P99))
			missed += r.Missed
		}
		fmt.Fprintf(&b, "%s at the same rate, rounds alternating with crmhub's: p50 %s, p90 %s, p99 %s (per round: %s), "+
			"%d requests missed.\n", o.name, run.Ms(m.P50), run.Ms(m.P90), run.Ms(m.P99), strings.Join(per, ", "), missed)
	}
	fmt.Fprintf(&b, "\ncrmhub's SQL per request (its pool's counters over %s): **%.2f statements in %.2f round trips**.\n",
		sql.over, sql.statements, sql.trips)

	ratio := run.RatioOf(rs, "crmhub", "floor")
	p99ms := float64(openMedian.P99) / float64(time.Millisecond)
	return &run.Section{Title: "Resolve: a contact by phone number", Body: b.String(), Ratios: []run.Ratio{
		{What: "resolveContact req/s, crmhub / floor", Value: ratio, Unit: "x", Goal: ">= 0.8x", Met: ratio >= 0.8},
		{What: "resolveContact p99 at 50% of crmhub's max req/s (open model)", Value: p99ms, Unit: "ms", Goal: "< 5 ms",
			Met: p99ms < 5 && missed == 0},
		{What: "resolveContact round trips per request (crmhub)", Value: sql.trips, Unit: "round trips", Goal: "reported", Met: true},
	}}, nil
}

// samplePhones picks n phone identities of the seeded workspace, spread
// over the table and the same in every run; they are stored normalized.
func samplePhones(ctx context.Context, env *run.Env, n int) ([]string, error) {
	return sample[string](ctx, env, `SELECT value FROM contact_identities WHERE workspace_id = $1 AND type = 'PHONE'
		ORDER BY md5(value) LIMIT $2`, n)
}
