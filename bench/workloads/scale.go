package workloads

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/load"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/google/uuid"
)

// How cost grows with the table (issue 18): `make bench-scale` measures
// these requests against crmhub on datasets of several sizes, one request
// at a time and 8 in flight. Each should cost the same at every size.

// ScaleQuery is one request of the scaling table.
type ScaleQuery struct {
	Name  string
	Query string
	// Vars gives request i's variables.
	Vars func(i int64) map[string]any
}

// ScaleResult is one query measured at one concurrency after the other.
type ScaleResult struct {
	Name          string
	Single, Eight load.Result
}

// scaleEvents is how many events the runner writes before measuring, so
// that the event feed has pages to read (a seed writes none).
const scaleEvents = 1000

// ScaleQueries prepares the seeded workspace (it writes scaleEvents new
// contacts through upsertContacts, whose events the feed then reads) and
// returns the requests to measure.
func ScaleQueries(ctx context.Context, env *run.Env) ([]ScaleQuery, error) {
	ids, err := sampleContacts(ctx, env, pointSample)
	if err != nil {
		return nil, err
	}
	phones, err := samplePhones(ctx, env, pointSample)
	if err != nil {
		return nil, err
	}
	// About a day of changes: a page of the recently changed contacts, as
	// an incremental export asks.
	var since time.Time
	if err := env.Pool.QueryRow(ctx, "SELECT max(updated_at) - interval '1 day' FROM contacts WHERE workspace_id = $1",
		env.Workspace).Scan(&since); err != nil {
		return nil, fmt.Errorf("updatedSince: %w", err)
	}
	if err := writeEvents(ctx, env); err != nil {
		return nil, err
	}
	fixed := func(vars map[string]any) func(int64) map[string]any {
		return func(int64) map[string]any { return vars }
	}
	return []ScaleQuery{
		{"point read", pointQuery, func(i int64) map[string]any {
			return map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, ids[i%int64(len(ids))])}
		}},
		{"resolve by phone", resolveQuery, func(i int64) map[string]any {
			return map[string]any{"phone": phones[i%int64(len(phones))]}
		}},
		{"page of 20 contacts", `{ contacts(first: 20) { edges { node { id name email phone tags } } pageInfo { hasNextPage endCursor } } }`,
			fixed(nil)},
		{"updatedSince (a day of changes)", `query($t: Time!) { contacts(first: 20, filter: {updatedSince: $t}, orderBy: {field: UPDATED_AT}) {
  edges { node { id name updatedAt } } } }`, fixed(map[string]any{"t": since.Format(time.RFC3339Nano)})},
		{"page of 50 deals", `{ deals(first: 50) { edges { node { id name amount status responsibleUser { id name }
  contacts { id name } } } } }`, fixed(nil)},
		{"event feed, 50 events", `{ events(first: 50) { edges { cursor node { id type subjectId } } } }`, fixed(nil)},
		{`search "ivan"`, `{ contacts(first: 20, filter: {search: "ivan"}) { edges { node { id name email } } } }`, fixed(nil)},
		{`tags ["vip"]`, `{ contacts(first: 20, filter: {tags: ["vip"]}) { edges { node { id name tags } } } }`, fixed(nil)},
		{"totalCount", `{ contacts(first: 20) { totalCount } }`, fixed(nil)},
	}, nil
}

// writeEvents creates scaleEvents contacts in calls of 100.
func writeEvents(ctx context.Context, env *run.Env) error {
	run := uuid.New().String()[:8]
	for call := range scaleEvents / 100 {
		var items []map[string]any
		for k := range 100 {
			items = append(items, map[string]any{"name": fmt.Sprintf("Scale %d", call*100+k),
				"identifiers": []map[string]any{{"type": "EMAIL", "value": fmt.Sprintf("scale-%s-%d@example.com", run, call*100+k)}}})
		}
		if err := callCrmhub(ctx, env, map[string]any{"input": items}, wantStatuses(map[string]int{"CREATED": 100})); err != nil {
			return fmt.Errorf("writing events: %w", err)
		}
	}
	return nil
}

// Scale measures every query for d (or ten times its first answer's
// latency, if longer; at most 2 minutes), one request at a time and then 8
// in flight, after a warm-up of a fifth of that each.
func Scale(ctx context.Context, env *run.Env, queries []ScaleQuery, d time.Duration) ([]ScaleResult, error) {
	var out []ScaleResult
	for _, q := range queries {
		// Every answer must be a page without errors before it is timed. A
		// slow request gets time for ten of it per measurement, so that its
		// median is of answers, not of none.
		start := time.Now()
		if _, err := fetchBody(ctx, env.CrmhubRequest, q.Query, q.Vars(0)); err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		d := min(max(d, 10*time.Since(start)), 2*time.Minute)
		r := ScaleResult{Name: q.Name}
		for _, c := range []struct {
			workers int
			res     *load.Result
		}{{1, &r.Single}, {8, &r.Eight}} {
			res, err := load.Run(ctx, load.Config{Workers: c.workers, Duration: d, Warmup: d / 5,
				Request: func(i int64) (*http.Request, error) { return env.CrmhubRequest(q.Query, q.Vars(i)) },
				Check:   answered})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.Name, err)
			}
			if res.Errors > 0 {
				return nil, fmt.Errorf("%s: %d of %d requests failed: %s", q.Name, res.Errors, res.Requests, res.FirstError)
			}
			*c.res = res
			env.Log.Info("scale", "query", q.Name, "workers", c.workers, "result", res.String())
		}
		out = append(out, r)
	}
	return out, nil
}

// answered accepts a 200 answer with data and no GraphQL errors.
func answered(status int, body []byte) error {
	if status != http.StatusOK || !bytes.Contains(body, []byte(`"data"`)) || bytes.Contains(body, []byte(`"errors":`)) {
		return fmt.Errorf("HTTP %d: %.300s", status, body)
	}
	return nil
}
