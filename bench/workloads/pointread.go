package workloads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/load"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The point read (issue 7): one contact by id with its name, email and
// identities, over seeded contacts (request i reads sampled contact i mod
// n), on crmhub, the floor (/contact) and PostGraphile.
func init() {
	register(run.Workload{Name: "point-read", Run: pointRead})
}

const (
	pointWorkers = 8
	pointSample  = 1000
)

// pointQuery is the contract's point read on crmhub; the floor's /contact
// route answers it with the same JSON.
const pointQuery = `query($id: ID!) { contact(id: $id) { name email identities { type value } } }`

// pglPointQuery is the point read in PostGraphile's generated schema: the
// contact by primary key, its first EMAIL identity and all identities, in
// crmhub's order (created_at, type, value). PostGraphile compiles it into
// one SQL statement much like the floor's.
const pglPointQuery = `query($ws: UUID!, $id: UUID!) {
  contact: contactByWorkspaceIdAndRowId(workspaceId: $ws, rowId: $id) {
    name
    email: contactIdentitiesByWorkspaceIdAndContactId(condition: {type: "EMAIL"},
      orderBy: [CREATED_AT_ASC, TYPE_ASC, VALUE_ASC], first: 1) { nodes { value } }
    identities: contactIdentitiesByWorkspaceIdAndContactId(
      orderBy: [CREATED_AT_ASC, TYPE_ASC, VALUE_ASC]) { nodes { type value } }
  }
}`

// missingContact is a well-formed id that names no contact.
const missingContact = "ct_00000000000000000000000000000000"

func pointRead(ctx context.Context, env *run.Env) (*run.Section, error) {
	n := pointSample
	if env.Quick {
		n = 100
	}
	ids, err := sampleContacts(ctx, env, n)
	if err != nil {
		return nil, err
	}
	crmhubVars := func(i int64) map[string]any {
		return map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, ids[i%int64(len(ids))])}
	}
	pglVars := func(i int64) map[string]any {
		return map[string]any{"ws": env.Workspace.String(), "id": ids[i%int64(len(ids))].String()}
	}

	// Before timing: the floor writes crmhub's JSON, PostGraphile reads the
	// same data, for a few contacts and a missing one.
	for _, i := range []int64{0, int64(len(ids)) / 2, int64(len(ids)) - 1, -1} {
		vars := map[string]any{"id": missingContact}
		if i >= 0 {
			vars = crmhubVars(i)
		}
		if err := sameAnswers(ctx, env, pointQuery, "/contact", vars); err != nil {
			return nil, err
		}
		if env.PostGraphile == nil {
			continue
		}
		pvars := map[string]any{"ws": env.Workspace.String(), "id": uuid.Nil.String()}
		if i >= 0 {
			pvars = pglVars(i)
		}
		if err := pglPointAgrees(ctx, env, vars, pvars); err != nil {
			return nil, err
		}
	}
	if env.PostGraphile != nil {
		// Row-level security holds there too: another workspace reads nothing.
		other := pglVars(0)
		other["ws"] = uuid.NewString()
		req, err := env.PostGraphileRequest(pglPointQuery, other)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-Workspace-Id", other["ws"].(string))
		body, err := fetchBody(ctx, func(string, map[string]any) (*http.Request, error) { return req, nil }, "", nil)
		if err != nil || !bytes.Equal(body, []byte(`{"data":{"contact":null}}`)) {
			return nil, fmt.Errorf("PostGraphile read a contact through another workspace: %s %v", body, err)
		}
	}

	check := func(status int, body []byte) error {
		if status != http.StatusOK || !bytes.Contains(body, []byte(`"name"`)) || bytes.Contains(body, []byte(`"errors":`)) {
			return fmt.Errorf("HTTP %d: %.300s", status, body)
		}
		return nil
	}
	arms := []run.Arm{
		{Name: "crmhub", Load: load.Config{Workers: pointWorkers, Check: check, Request: func(i int64) (*http.Request, error) {
			return env.CrmhubRequest(pointQuery, crmhubVars(i))
		}}},
		{Name: "floor", Load: load.Config{Workers: pointWorkers, Check: check, Request: func(i int64) (*http.Request, error) {
			return env.FloorRequest("/contact", crmhubVars(i))
		}}},
	}
	if env.CrmhubBaseline != nil {
		arms = append(arms, run.Arm{Name: env.CrmhubBaseline.Name, Load: load.Config{Workers: pointWorkers, Check: check,
			Request: func(i int64) (*http.Request, error) { return env.BaselineRequest(pointQuery, crmhubVars(i)) }}})
	}
	if env.PostGraphile != nil {
		arms = append(arms, run.Arm{Name: "postgraphile", Load: load.Config{Workers: pointWorkers, Check: check,
			Request: func(i int64) (*http.Request, error) { return env.PostGraphileRequest(pglPointQuery, pglVars(i)) }}})
	}
	rs, err := run.Compare(ctx, env, arms)
	if err != nil {
		return nil, err
	}
	sql, err := sqlPerRequest(ctx, env, 200, pointWorkers, func(i int64) (*http.Request, error) {
		return env.CrmhubRequest(pointQuery, crmhubVars(i))
	})
	if err != nil {
		return nil, err
	}

	names := armNames(arms)
	var b strings.Builder
	fmt.Fprintf(&b, "One request: the contract's point read\n\n```graphql\n%s\n```\n\n", pointQuery)
	fmt.Fprintf(&b, "over %d seeded contacts (request i reads contact i mod %d), %d requests in flight per target. "+
		"Before timing, the floor's JSON was compared with crmhub's for three contacts and a missing id", len(ids), len(ids), pointWorkers)
	if env.PostGraphile != nil {
		b.WriteString(", and PostGraphile's answer (its generated names aliased, raw uuids) carried the same name, " +
			"email and identities in the same order; a PostGraphile request naming another workspace read nothing")
	}
	b.WriteString(".\n\n")
	b.WriteString(run.Table(names, rs))
	fmt.Fprintf(&b, "\ncrmhub's SQL per request (its pool's counters over %s): **%.2f statements in %.2f round trips**. "+
		"The API key comes from crmhub's key cache (kept current by LISTEN/NOTIFY on revocation); the contact and its "+
		"identities are one pgx batch behind the tenant setting, in an implicit transaction.\n", sql.over, sql.statements, sql.trips)
	b.WriteString("\nThe floor is one pgx batch per request: tenant, key check and one statement building the JSON. ")
	if env.PostGraphile != nil {
		b.WriteString("PostGraphile does not check crmhub's API keys: it takes the tenant from an `X-Workspace-Id` " +
			"header and sets it with the role per request (BEGIN, set_config, the query, COMMIT), so it does less " +
			"work than crmhub and the floor on every request.")
	}
	b.WriteString("\n")

	floorRatio := run.RatioOf(rs, "crmhub", "floor")
	ratios := []run.Ratio{}
	if env.PostGraphile != nil {
		rps := run.RatioOf(rs, "crmhub", "postgraphile")
		p99 := float64(run.Median(rs["crmhub"]).P99) / float64(max(1, run.Median(rs["postgraphile"]).P99))
		ratios = append(ratios,
			run.Ratio{What: "point read req/s, crmhub / PostGraphile", Value: rps, Unit: "x", Goal: ">= 1.5x", Met: rps >= 1.5},
			run.Ratio{What: "point read p99, crmhub / PostGraphile (same concurrency)", Value: p99, Unit: "x",
				Goal: "<= 1.0x", Met: p99 <= 1.0})
	}
	ratios = append(ratios,
		run.Ratio{What: "point read req/s, crmhub / floor", Value: floorRatio, Unit: "x", Goal: ">= 0.75x", Met: floorRatio >= 0.75},
		run.Ratio{What: "point read round trips per request (crmhub)", Value: sql.trips, Unit: "round trips",
			Goal: "<= 2", Met: sql.trips <= 2})
	return &run.Section{Title: "Point read: a contact by id with its email and identities", Body: b.String(), Ratios: ratios}, nil
}

// sampleContacts picks n contacts of the seeded workspace, spread over
// the table and the same in every run.
func sampleContacts(ctx context.Context, env *run.Env, n int) ([]uuid.UUID, error) {
	return sample[uuid.UUID](ctx, env, "SELECT id FROM contacts WHERE workspace_id = $1 ORDER BY md5(id::text) LIMIT $2", n)
}

// sample reads one column of up to n rows of the seeded workspace
// ($1 the workspace, $2 n); none is an error.
func sample[T any](ctx context.Context, env *run.Env, query string, n int) ([]T, error) {
	rows, err := env.Pool.Query(ctx, query, env.Workspace, n)
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("sample: %d rows of %q: %v", len(out), query, err)
	}
	return out, nil
}

// sameAnswers checks that the floor's route writes crmhub's JSON for one
// request.
func sameAnswers(ctx context.Context, env *run.Env, query, route string, vars map[string]any) error {
	want, err := fetchBody(ctx, env.CrmhubRequest, query, vars)
	if err != nil {
		return fmt.Errorf("crmhub %v: %w", vars, err)
	}
	got, err := fetchBody(ctx, func(_ string, v map[string]any) (*http.Request, error) { return env.FloorRequest(route, v) }, "", vars)
	if err != nil {
		return fmt.Errorf("floor %s %v: %w", route, vars, err)
	}
	if err := sameJSON(want, got); err != nil {
		return fmt.Errorf("%v: the floor's answer is not crmhub's: %w", vars, err)
	}
	return nil
}

// pointContact is the point read in a form crmhub's and PostGraphile's
// answers both decode to.
type pointContact struct {
	Name       *string
	Email      *string
	Identities []struct{ Type, Value string }
}

// pglPointAgrees checks that PostGraphile reads what crmhub reads.
func pglPointAgrees(ctx context.Context, env *run.Env, vars, pvars map[string]any) error {
	body, err := fetchBody(ctx, env.CrmhubRequest, pointQuery, vars)
	if err != nil {
		return err
	}
	var a struct {
		Data struct{ Contact *pointContact }
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	pbody, err := fetchBody(ctx, env.PostGraphileRequest, pglPointQuery, pvars)
	if err != nil {
		return fmt.Errorf("PostGraphile: %w", err)
	}
	var p struct {
		Data struct {
			Contact *struct {
				Name       *string
				Email      struct{ Nodes []struct{ Value string } }
				Identities struct {
					Nodes []struct{ Type, Value string }
				}
			}
		}
	}
	if err := json.Unmarshal(pbody, &p); err != nil {
		return err
	}
	var got *pointContact
	if c := p.Data.Contact; c != nil {
		got = &pointContact{Name: c.Name, Identities: c.Identities.Nodes}
		if len(c.Email.Nodes) > 0 {
			got.Email = &c.Email.Nodes[0].Value
		}
	}
	if !reflect.DeepEqual(a.Data.Contact, got) {
		return fmt.Errorf("PostGraphile's answer differs from crmhub's:\ncrmhub       %s\npostgraphile %s", body, pbody)
	}
	return nil
}

// sqlCost is crmhub's SQL per request over a fixed number of requests.
type sqlCost struct {
	statements, trips float64
	over              string
}

// sqlPerRequest sends n requests, workers at a time, all to completion
// (a timed run cuts some off mid-flight, which would skew the division),
// and divides the change of crmhub's pool counters by n. crmhub's
// background work (a key's last-use stamp, once a minute) counts too.
func sqlPerRequest(ctx context.Context, env *run.Env, n, workers int, request func(i int64) (*http.Request, error)) (sqlCost, error) {
	metrics := func() (float64, float64, error) {
		s, err := env.Metric("crmhub_db_statements_total")
		if err != nil {
			return 0, 0, err
		}
		t, err := env.Metric("crmhub_db_round_trips_total")
		return s, t, err
	}
	s0, t0, err := metrics()
	if err != nil {
		return sqlCost{}, err
	}
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				req, err := request(int64(i))
				if err == nil {
					_, err = fetchBody(ctx, func(string, map[string]any) (*http.Request, error) { return req, nil }, "", nil)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if e := <-errs; e != nil {
			err = e
		}
	}
	if err != nil {
		return sqlCost{}, err
	}
	s1, t1, err := metrics()
	return sqlCost{statements: (s1 - s0) / float64(n), trips: (t1 - t0) / float64(n),
		over: fmt.Sprintf("%d requests, %d in flight", n, workers)}, err
}

func armNames(arms []run.Arm) []string {
	out := make([]string, len(arms))
	for i, a := range arms {
		out[i] = a.Name
	}
	return out
}
