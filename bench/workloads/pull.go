package workloads

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/crmhub/crmhub/bench/run"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// The connector pull: crmhub pulls 50,000 contacts (and 5 users) from the
// fake Wazzup, served by the runner over HTTP, through the real path: a
// connection made with createConnection, a runSync mutation, the River
// worker in `crmhub serve`, polled with syncRun. Then an INCREMENTAL pass
// over the unchanged remote. Each round uses a fresh fake and connection
// with contacts of their own, so every first pass creates its contacts.
func init() {
	register(run.Workload{Name: "connector-pull", Run: pull})
}

const pullRecords = 50_000

func pull(ctx context.Context, env *run.Env) (*run.Section, error) {
	n := pullRecords
	if env.Quick {
		n = 1_000
	}
	var firsts, seconds []pullPass
	for round := range max(1, env.Rounds) {
		first, second, err := pullRound(ctx, env, round, n)
		if err != nil {
			return nil, err
		}
		firsts, seconds = append(firsts, first), append(seconds, second)
	}
	median := func(ps []pullPass, f func(pullPass) float64) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = f(p)
		}
		return medianOf(v)
	}
	took := func(p pullPass) float64 { return p.took.Seconds() }
	speedup := median(firsts, took) / median(seconds, took)
	var b strings.Builder
	fmt.Fprintf(&b, "One round: a fresh fake Wazzup holding %d contacts (one WhatsApp chat each, a responsible user "+
		"each) and 5 users; `createConnection` (PULL, users and contacts), then `runSync(mode: FULL)` timed from "+
		"the mutation until `syncRun` reports SUCCEEDED (polled every 100 ms), then `runSync(mode: INCREMENTAL)` "+
		"over the unchanged remote. Pages of 100 over HTTP, JSON both ways; the sync runs in crmhub's River worker. "+
		"Round trips and statements are crmhub's whole pool during the pass; tuples are PostgreSQL's "+
		"`n_tup_ins + n_tup_upd + n_tup_del` per table over the pass (read after the statistics flush).\n\n", n)
	b.WriteString("| pass | seconds per round | median records/s | round trips | statements | tuples written (median round) |\n|---|---|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		ps   []pullPass
	}{{"first (FULL, all created)", firsts}, {"second (INCREMENTAL, all unchanged)", seconds}} {
		var secs []string
		for _, p := range row.ps {
			secs = append(secs, fmt.Sprintf("%.2f", p.took.Seconds()))
		}
		mid := row.ps[len(row.ps)/2]
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %s |\n", row.name, strings.Join(secs, ", "),
			median(row.ps, func(p pullPass) float64 { return p.recordsPS }),
			median(row.ps, func(p pullPass) float64 { return p.trips }), median(row.ps, func(p pullPass) float64 { return p.stmts }),
			formatTuples(mid.tuples))
	}
	domain := median(seconds, func(p pullPass) float64 { return float64(domainTuples(p.tuples)) })
	fmt.Fprintf(&b, "\nThe unchanged pass is **%.1fx** faster than the first. Every record's fingerprint matches its "+
		"link, so no upsert runs; what it writes is bookkeeping: the run's own row and progress, its River job and "+
		"the `sync.completed` event. Rows of contacts, identities, tags and users written by the unchanged pass: %.0f.\n",
		speedup, domain)
	return &run.Section{Title: "Connector pull of 50,000 from the fake Wazzup", Body: b.String(), Ratios: []run.Ratio{
		{What: "records/s of the first pass", Value: median(firsts, func(p pullPass) float64 { return p.recordsPS }), Unit: "records/s",
			Goal: "reported", Met: true},
		{What: "unchanged pass speed-up over the first", Value: speedup, Unit: "x", Goal: ">= 3x", Met: speedup >= 3},
		{What: "contact, identity, tag and user tuples written by the unchanged pass", Value: domain, Unit: "tuples",
			Goal: "~0", Met: domain == 0},
	}}, nil
}

// pullPass is one measured sync run.
type pullPass struct {
	took      time.Duration
	stats     syncStats
	trips     float64
	stmts     float64
	tuples    map[string]int64
	recordsPS float64
}

// pullRound serves a fresh fake Wazzup, connects crmhub to it and measures
// a FULL pass, then an INCREMENTAL one over the unchanged remote.
func pullRound(ctx context.Context, env *run.Env, round, n int) (first, second pullPass, err error) {
	fake := wazzuptest.New(wazzuptest.Options{Contacts: pullContacts(round, n), Users: pullUsers(), RequireKnownUsers: true})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var conn struct {
		CreateConnection struct{ ID string }
	}
	err = env.CrmhubDo(ctx, `mutation($in: ConnectionInput!) { createConnection(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"kind": "WAZZUP", "name": fmt.Sprintf("bench pull %d", round+1),
			"baseUrl": srv.URL, "apiKey": wazzuptest.DefaultAPIKey, "direction": "PULL",
			"entities": []string{"USERS", "CONTACTS"}}}, &conn)
	if err != nil {
		return first, second, err
	}
	measure := func(mode string) (pullPass, error) {
		before, err := snapshot(ctx, env)
		if err != nil {
			return pullPass{}, err
		}
		stats, took, err := syncOnce(ctx, env, conn.CreateConnection.ID, mode)
		if err != nil {
			return pullPass{}, fmt.Errorf("round %d, %s pass: %w", round+1, mode, err)
		}
		after, err := snapshot(ctx, env)
		if err != nil {
			return pullPass{}, err
		}
		env.Log.Info("pulled", "round", round+1, "mode", mode, "took", took, "stats", fmt.Sprintf("%+v", stats))
		return pullPass{took: took, stats: stats, trips: after.trips - before.trips, stmts: after.stmts - before.stmts,
			tuples: diffTuples(before.tuples, after.tuples), recordsPS: float64(stats.Fetched) / took.Seconds()}, nil
	}
	if first, err = measure("FULL"); err != nil {
		return first, second, err
	}
	// The contacts are new in every round; the 5 users are the same
	// remote users each round, new only in the first.
	if st := first.stats; st.Created < n || st.Created+st.Unchanged != n+len(pullUsers()) || st.Failed != 0 {
		return first, second, fmt.Errorf("round %d: first pass %+v, want %d contacts created and the users created or unchanged",
			round+1, st, n)
	}
	if second, err = measure("INCREMENTAL"); err != nil {
		return first, second, err
	}
	if st := second.stats; st.Unchanged != n+len(pullUsers()) || st.Failed != 0 {
		return first, second, fmt.Errorf("round %d: second pass %+v, want all %d unchanged", round+1, st, n+len(pullUsers()))
	}
	return first, second, nil
}

func pullContacts(round, n int) []wazzuptest.Contact {
	out := make([]wazzuptest.Contact, n)
	for i := range out {
		k := round*n + i
		// +1 212 2xx xxxx: valid US numbers, apart from the seeded ones.
		out[i] = wazzuptest.Contact{ID: fmt.Sprintf("bench-%d", k), ResponsibleUserID: fmt.Sprintf("u%d", i%5+1),
			Name: fmt.Sprintf("Pulled %d", k), ContactData: []wazzuptest.ContactData{
				{ChatType: "whatsapp", ChatID: fmt.Sprintf("1212%07d", 2_000_000+k)}}}
	}
	return out
}

func pullUsers() []wazzuptest.User {
	var out []wazzuptest.User
	for i := 1; i <= 5; i++ {
		out = append(out, wazzuptest.User{ID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("Agent %d", i)})
	}
	return out
}

type syncStats struct {
	Fetched, Created, Updated, Unchanged, Failed int
}

// syncOnce starts a run and waits for it; took is from the mutation to
// the poll that saw it finished.
func syncOnce(ctx context.Context, env *run.Env, connection, mode string) (syncStats, time.Duration, error) {
	start := time.Now()
	var started struct {
		RunSync struct{ ID string }
	}
	if err := env.CrmhubDo(ctx, `mutation($c: ID!, $m: SyncMode!) { runSync(connectionId: $c, mode: $m) { id } }`,
		map[string]any{"c": connection, "m": mode}, &started); err != nil {
		return syncStats{}, 0, err
	}
	for {
		var got struct {
			SyncRun struct {
				Status string
				Stats  syncStats
				Errors []struct{ Message string }
			}
		}
		if err := env.CrmhubDo(ctx, `query($id: ID!) { syncRun(id: $id) { status stats { fetched created updated unchanged failed } errors { message } } }`,
			map[string]any{"id": started.RunSync.ID}, &got); err != nil {
			return syncStats{}, 0, err
		}
		switch got.SyncRun.Status {
		case "SUCCEEDED":
			return got.SyncRun.Stats, time.Since(start), nil
		case "FAILED":
			return got.SyncRun.Stats, 0, fmt.Errorf("sync run failed: %+v", got.SyncRun.Errors)
		}
		select {
		case <-ctx.Done():
			return syncStats{}, 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// counts is crmhub's query counters and PostgreSQL's tuple counters at
// one moment.
type counts struct {
	trips, stmts float64
	tuples       map[string]int64
}

// snapshot reads the counters. PostgreSQL's backends report their tuple
// counts at most once a second and within ten seconds when idle, so it
// first waits for that flush.
func snapshot(ctx context.Context, env *run.Env) (counts, error) {
	var c counts
	var err error
	if c.trips, err = env.Metric("crmhub_db_round_trips_total"); err != nil {
		return c, err
	}
	if c.stmts, err = env.Metric("crmhub_db_statements_total"); err != nil {
		return c, err
	}
	select {
	case <-ctx.Done():
		return c, ctx.Err()
	case <-time.After(11 * time.Second):
	}
	conn, err := env.Pool.Acquire(ctx)
	if err != nil {
		return c, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return c, err
	}
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.tuples = map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return c, err
		}
		c.tuples[name] = n
	}
	return c, rows.Err()
}

func diffTuples(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// domainTuples are the written tuples of the tables that hold the synced
// records themselves.
func domainTuples(t map[string]int64) int64 {
	var n int64
	for _, table := range []string{"contacts", "contact_identities", "contact_tags", "users", "sync_links"} {
		n += t[table]
	}
	return n
}

func formatTuples(t map[string]int64) string {
	if len(t) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range sortedKeys(t) {
		parts = append(parts, fmt.Sprintf("%s %d", k, t[k]))
	}
	return strings.Join(parts, ", ")
}
