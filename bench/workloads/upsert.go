package workloads

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/crmhub/crmhub/bench/load"
	"github.com/crmhub/crmhub/bench/run"
)

// The contact upsert: one upsertContacts call of 100 contacts, 50 new, 40
// existing ones changed and 10 existing ones sent as they are, against
// crmhub and the floor's two raw methods (bench/floor/upsert.go). Each item
// is a name, custom fields and one phone identifier.
func init() {
	register(run.Workload{Name: "upsert", Run: upsert})
}

const upsertMutation = `mutation Upsert($input: [ContactUpsertInput!]!) {
  upsertContacts(input: $input) { results { index status contact { id } } } }`

const (
	upsertNew, upsertChanged, upsertUnchanged = 50, 40, 10
	upsertWorkers                             = 4
	// upsertSequential calls are sent one at a time before the comparison,
	// to count crmhub's round trips per call without concurrent noise.
	upsertSequential = 20
)

// upsertContact is a stored contact the workload changes or re-sends.
type upsertContact struct {
	name, typ, phone string
}

// upsertStream makes the calls of one arm. New phones are +4915, the arm's
// digit and eight digits of the arm's own counter: the seed makes no +49
// numbers, and no two arms or calls share one. Changed contacts get a name
// naming the arm and call, so every change changes something; unchanged
// ones are never changed by anybody. Consecutive calls take consecutive
// slices of both lists, so concurrent calls touch different contacts.
type upsertStream struct {
	arm                int
	calls              atomic.Int64
	changed, unchanged []upsertContact
}

func (s *upsertStream) next() map[string]any {
	k := int(s.calls.Add(1) - 1)
	items := make([]map[string]any, 0, upsertNew+upsertChanged+upsertUnchanged)
	item := func(name, typ, phone string, fields map[string]any) map[string]any {
		it := map[string]any{"name": name, "identifiers": []map[string]any{{"type": typ, "value": phone}}}
		if fields != nil {
			it["customFields"] = fields
		}
		return it
	}
	for j := range upsertNew {
		items = append(items, item(fmt.Sprintf("Upsert %d new %d-%d", s.arm, k, j), "PHONE",
			fmt.Sprintf("+4915%d%08d", s.arm, k*upsertNew+j), map[string]any{"bench": "upsert", "call": k}))
	}
	for j := range upsertChanged {
		c := s.changed[(k*upsertChanged+j)%len(s.changed)]
		items = append(items, item(fmt.Sprintf("Upsert %d changed %d-%d", s.arm, k, j), c.typ, c.phone,
			map[string]any{"bench": "upsert", "call": k}))
	}
	for j := range upsertUnchanged {
		c := s.unchanged[(k*upsertUnchanged+j)%len(s.unchanged)]
		items = append(items, item(c.name, c.typ, c.phone, nil))
	}
	return map[string]any{"input": items}
}

// wantStatuses checks an answer of upsertContacts: results in input
// order, each with a contact id, as many of each status as want says.
func wantStatuses(want map[string]int) func(status int, body []byte) error {
	return func(status int, body []byte) error {
		var res struct {
			Data struct {
				UpsertContacts struct {
					Results []struct {
						Index   int
						Status  string
						Contact *struct{ ID string }
					}
				}
			}
			Errors []struct{ Message string }
		}
		if err := json.Unmarshal(body, &res); err != nil || status != http.StatusOK {
			return fmt.Errorf("HTTP %d: %.200s", status, body)
		}
		if len(res.Errors) > 0 {
			return fmt.Errorf("GraphQL error: %s", res.Errors[0].Message)
		}
		count := map[string]int{}
		for i, r := range res.Data.UpsertContacts.Results {
			if r.Index != i || r.Contact == nil || r.Contact.ID == "" {
				return fmt.Errorf("result %d: index %d, contact %v", i, r.Index, r.Contact)
			}
			count[r.Status]++
		}
		if !maps.Equal(count, want) {
			return fmt.Errorf("statuses %v, want %v", count, want)
		}
		return nil
	}
}

var checkMixed = wantStatuses(map[string]int{"CREATED": upsertNew, "UPDATED": upsertChanged, "UNCHANGED": upsertUnchanged})

// callCrmhub sends one upsertContacts call and checks the answer.
func callCrmhub(ctx context.Context, env *run.Env, vars map[string]any, check func(int, []byte) error) error {
	body, err := fetchBody(ctx, env.CrmhubRequest, upsertMutation, vars)
	if err != nil {
		return err
	}
	return check(http.StatusOK, body)
}

// firstUpsertCall numbers calls on from those of an earlier run on this
// database, if any, so that their new phones and changed names are new
// again.
func firstUpsertCall(ctx context.Context, env *run.Env) (int64, error) {
	var first int64
	err := env.Pool.QueryRow(ctx, `SELECT coalesce(max(right(value, 8)::bigint), -1) / $2 + 1 FROM contact_identities
		WHERE workspace_id = $1 AND match_class = 'phone' AND value LIKE '+4915%'`, env.Workspace, upsertNew).Scan(&first)
	if err != nil {
		return 0, fmt.Errorf("read earlier runs: %w", err)
	}
	return first, nil
}

// storedContacts reads up to n seeded contacts with a name and exactly one
// phone identity, in a fixed order.
func storedContacts(ctx context.Context, env *run.Env, n int) ([]upsertContact, error) {
	rows, err := env.Pool.Query(ctx, `SELECT c.name, min(i.type), min(i.value) FROM contacts c
		JOIN contact_identities i ON i.workspace_id = c.workspace_id AND i.contact_id = c.id AND i.match_class = 'phone'
		WHERE c.workspace_id = $1 AND c.name IS NOT NULL
		GROUP BY c.id, c.name HAVING count(*) = 1 ORDER BY c.id LIMIT $2`, env.Workspace, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []upsertContact
	for rows.Next() {
		var c upsertContact
		if err := rows.Scan(&c.name, &c.typ, &c.phone); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func upsert(ctx context.Context, env *run.Env) (*run.Section, error) {
	stored, err := storedContacts(ctx, env, 5000)
	if err != nil {
		return nil, fmt.Errorf("read seeded contacts: %w", err)
	}
	if len(stored) < 5*(upsertChanged+upsertUnchanged) {
		return nil, fmt.Errorf("%d seeded contacts with one phone, want at least %d", len(stored), 5*(upsertChanged+upsertUnchanged))
	}
	first, err := firstUpsertCall(ctx, env)
	if err != nil {
		return nil, err
	}
	split := len(stored) * 4 / 5
	changed, unchanged := stored[:split], stored[split:]
	type arm struct {
		name, path string
		stream     *upsertStream
	}
	arms := []arm{{name: "crmhub"}, {name: "floor", path: "/upsert"}, {name: "floor-copy", path: "/upsert-copy"}}
	if env.CrmhubBaseline != nil {
		arms = append(arms, arm{name: env.CrmhubBaseline.Name})
	}
	var loads []run.Arm
	for i := range arms {
		a := &arms[i]
		a.stream = &upsertStream{arm: i + 1, changed: changed, unchanged: unchanged}
		a.stream.calls.Store(first)
		request := func(int64) (*http.Request, error) { return env.CrmhubRequest(upsertMutation, a.stream.next()) }
		if a.path != "" {
			request = func(int64) (*http.Request, error) { return env.FloorRequest(a.path, a.stream.next()) }
		} else if a.name != "crmhub" {
			request = func(int64) (*http.Request, error) { return env.BaselineRequest(upsertMutation, a.stream.next()) }
		}
		loads = append(loads, run.Arm{Name: a.name, Load: load.Config{Workers: upsertWorkers, Request: request, Check: checkMixed}})
	}

	// crmhub's round trips and statements per call, one call at a time.
	before, err := upsertMetrics(env)
	if err != nil {
		return nil, err
	}
	for range upsertSequential {
		if err := callCrmhub(ctx, env, arms[0].stream.next(), checkMixed); err != nil {
			return nil, fmt.Errorf("sequential call: %w", err)
		}
	}
	after, err := upsertMetrics(env)
	if err != nil {
		return nil, err
	}
	trips, stmts := (after[0]-before[0])/upsertSequential, (after[1]-before[1])/upsertSequential

	// Throughput, A/B/A/B.
	sent := make([]int64, len(arms)) // calls before the comparison
	for i, a := range arms {
		sent[i] = a.stream.calls.Load()
	}
	before, err = upsertMetrics(env)
	if err != nil {
		return nil, err
	}
	rs, err := run.Compare(ctx, env, loads)
	if err != nil {
		return nil, err
	}
	after, err = upsertMetrics(env)
	if err != nil {
		return nil, err
	}
	crmhubCalls := float64(arms[0].stream.calls.Load() - sent[0])
	loadTrips, loadStmts := (after[0]-before[0])/crmhubCalls, (after[1]-before[1])/crmhubCalls

	// Tuples written by a batch of (up to) 100 unchanged contacts, sent 5
	// times.
	var unchangedBatch []map[string]any
	for _, c := range unchanged[:min(100, len(unchanged))] {
		unchangedBatch = append(unchangedBatch, map[string]any{"name": c.name,
			"identifiers": []map[string]any{{"type": c.typ, "value": c.phone}}})
	}
	snapBefore, err := snapshot(ctx, env)
	if err != nil {
		return nil, err
	}
	for range 5 {
		err := callCrmhub(ctx, env, map[string]any{"input": unchangedBatch}, wantStatuses(map[string]int{"UNCHANGED": len(unchangedBatch)}))
		if err != nil {
			return nil, fmt.Errorf("unchanged batch: %w", err)
		}
	}
	snapAfter, err := snapshot(ctx, env)
	if err != nil {
		return nil, err
	}
	written := diffTuples(snapBefore.tuples, snapAfter.tuples)
	var unchangedTuples int64
	for _, table := range []string{"contacts", "contact_identities", "contact_tags", "events", "workspaces"} {
		unchangedTuples += written[table]
	}

	names := []string{"crmhub", "floor", "floor-copy"}
	best := "floor"
	if run.Median(rs["floor-copy"]).PerSecond > run.Median(rs["floor"]).PerSecond {
		best = "floor-copy"
	}
	ratio := run.RatioOf(rs, "crmhub", best)
	var b strings.Builder
	fmt.Fprintf(&b, "One operation is an `upsertContacts` call of 100 contacts (name, custom fields, one phone): "+
		"%d new, %d existing ones changed, %d existing ones unchanged; %d concurrent callers, each arm with new phones "+
		"of its own. The floor answers the same variables with the ideal SQL (bench/floor/upsert.go): "+
		"`floor` is one statement over unnest(...) arrays (INSERT ... ON CONFLICT DO UPDATE ... WHERE ... IS DISTINCT FROM "+
		"for contacts, ON CONFLICT DO NOTHING for identities) after a key check, 2 round trips; `floor-copy` COPYs the items "+
		"into a temporary staging table and runs the same statement over it, 4 round trips.\n\n", upsertNew, upsertChanged,
		upsertUnchanged, upsertWorkers)
	b.WriteString(run.Table(names, rs))
	fmt.Fprintf(&b, "\ncontacts/s (median): crmhub %.0f, floor %.0f, floor-copy %.0f.\n\n",
		100*run.Median(rs["crmhub"]).PerSecond, 100*run.Median(rs["floor"]).PerSecond, 100*run.Median(rs["floor-copy"]).PerSecond)
	fmt.Fprintf(&b, "crmhub per call, %d calls one at a time (its /metrics, authentication and background work included): "+
		"%.2f round trips, %.2f statements; during the comparison: %.2f round trips, %.2f statements. "+
		"An upsert is two round trips in the database layer (TestUpsertRoundTrips): BEGIN, the tenant, the identity locks, "+
		"the lookup and the locking read of the contacts and their tags in one pgx batch; the contacts, identities, tags, "+
		"events (numbered, inserted and NOTIFYed by one statement) and COMMIT in the second.\n\n",
		upsertSequential, trips, stmts, loadTrips, loadStmts)
	fmt.Fprintf(&b, "Tuples written by 5 calls of the same %d unchanged contacts (pg_stat_user_tables, all tables): %s.\n\n",
		len(unchangedBatch), formatTuples(written))
	b.WriteString("What the floor does less than crmhub: no normalization or validation of identifiers, one identifier " +
		"per item, no tags, uri or responsible user, no per-item errors, no advisory locks (concurrent calls creating the " +
		"same identity would leave an orphan contact), no merge redirects or CONTACT_ID matching, and no events, outbox " +
		"rows or NOTIFY. crmhub also authenticates through GraphQL and answers per-item statuses from its own matching.\n")
	return &run.Section{Title: "Contact upsert: upsertContacts of 100 (50 new, 40 changed, 10 unchanged)", Body: b.String(),
		Ratios: []run.Ratio{
			{What: fmt.Sprintf("upsert calls/s, crmhub / best raw method (%s)", best), Value: ratio, Unit: "x",
				Goal: ">= 0.8x", Met: ratio >= 0.8},
			{What: "crmhub round trips per upsertContacts call of 100", Value: trips, Unit: "round trips",
				Goal: "<= 3", Met: trips <= 3},
			{What: fmt.Sprintf("tuples written by unchanged rows (5 x %d; contacts, identities, tags, events, workspaces)", len(unchangedBatch)), Value: float64(unchangedTuples), Unit: "tuples",
				Goal: "== 0", Met: unchangedTuples == 0},
		}}, nil
}

// upsertMetrics reads crmhub's round trip and statement counters.
func upsertMetrics(env *run.Env) ([2]float64, error) {
	var out [2]float64
	var err error
	if out[0], err = env.Metric("crmhub_db_round_trips_total"); err != nil {
		return out, err
	}
	out[1], err = env.Metric("crmhub_db_statements_total")
	return out, err
}
