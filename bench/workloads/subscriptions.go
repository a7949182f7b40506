package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/bench/run"
	"github.com/google/uuid"
)

// The subscriptions workload (issue 7): 10,000 websocket subscribers on one
// instance, 500 changes a second, every change delivered to its subscriber.
//
// Each subscriber is one graphql-transport-ws connection with one
// subscription, contactChanged(id) of a contact of its own (10,000
// distinct seeded contacts). A producer changes those contacts at a fixed
// rate (an open model: writes start on schedule whether or not the earlier
// ones have returned), each change carrying its sequence number and the
// time the write was sent in the contact's custom fields, which the event
// delivers back. Delivery latency is the subscriber's receive time minus
// that send time, so it includes the write itself. A drop is an expected
// delivery that never arrives (after a drain), or a subscription the
// server ends (error, complete, closed socket).
//
// Before the measurement every subscriber is primed: its contact is
// changed once and its event awaited. graphql-transport-ws does not
// acknowledge a subscribe, so priming is what shows that all subscriptions
// are live; it also warms both servers up. RSS is read before the sockets
// are opened, after all are primed, and every 250 ms under load.
func init() {
	register(run.Workload{Name: "subscriptions", Run: subscriptions})
	ServeEnv = append(ServeEnv, SubscriptionsServeEnv...)
}

// SubscriptionsServeEnv is what `crmhub serve` needs for this workload: no
// rate limit (10,000 subscriptions of one key would spend its budget).
// CRMHUB_MAX_SUBSCRIPTIONS bounds the subscriptions of one socket
// (default 20), and each subscriber here opens one; there is no limit on
// sockets.
var SubscriptionsServeEnv = []string{"CRMHUB_RATE_LIMIT_POINTS=0"}

// SubscriptionsRounds is how many times each target is measured (at
// least once).
var SubscriptionsRounds = 1

// subsScale is the size of one measurement.
type subsScale struct {
	Subscribers int
	Rate        int           // changes per second under load
	Batch       int           // changes per write
	Duration    time.Duration // of the load
	Dialers     int           // sockets being opened at once
	Drain       time.Duration // longest wait for late deliveries
	Prime       time.Duration // longest priming
}

func subsScaleFor(env *run.Env) subsScale {
	if env.Quick {
		return subsScale{Subscribers: 200, Rate: 50, Batch: 5, Duration: 3 * time.Second, Dialers: 20, Drain: 5 * time.Second,
			Prime: 20 * time.Second}
	}
	return subsScale{Subscribers: 10_000, Rate: 500, Batch: 10, Duration: min(max(env.Duration*3, 20*time.Second), time.Minute),
		Dialers: 50, Drain: 10 * time.Second, Prime: time.Minute}
}

func subscriptions(ctx context.Context, env *run.Env) (*run.Section, error) {
	sc := subsScaleFor(env)
	contacts, err := subsContacts(ctx, env, sc.Subscribers)
	if err != nil {
		return nil, err
	}
	var targets []*subsTarget
	if env.CrmhubBaseline != nil {
		targets = append(targets, crmhubSubsTarget(env, env.CrmhubBaseline))
	}
	crm := crmhubSubsTarget(env, env.Crmhub)
	targets = append(targets, crm)
	var peers []*subsTarget
	if env.GraphQLWS != nil {
		peers = append(peers, graphqlwsSubsTarget(env))
	}
	if env.PostGraphile != nil {
		peers = append(peers, postgraphileSubsTarget(env))
	}
	// Every peer must send what crmhub sends for the same change before
	// its numbers mean anything.
	for _, p := range peers {
		if err := subsCheckPeer(ctx, crm, p, contacts[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	targets = append(targets, peers...)
	// One round of both targets takes three to four minutes (10,000
	// sockets each, priming, 30 s of load): one round, within the runner's
	// workload timeout; SubscriptionsRounds asks for more, alternating
	// targets.
	rounds := SubscriptionsRounds
	results := map[string][]subsResult{}
	for round := range max(1, rounds) {
		for _, t := range targets {
			res, err := measureSubscriptions(ctx, t, contacts, sc)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", t.name, round+1, err)
			}
			res.Reused = round > 0
			if env.Log != nil {
				env.Log.Info("measured", "workload", "subscriptions", "arm", t.name, "round", round+1, "result", res.String())
			}
			results[t.name] = append(results[t.name], res)
		}
	}
	return subsSection(sc, targets, results), nil
}

// subsContact is a subscriber's contact and one of its identifiers, by
// which crmhub's upsert finds it.
type subsContact struct {
	ID          uuid.UUID
	Type, Value string
}

// subsContacts picks n seeded contacts that have an email or a phone.
func subsContacts(ctx context.Context, env *run.Env, n int) ([]subsContact, error) {
	rows, err := env.Pool.Query(ctx, `
		SELECT c.id, i.type, i.value FROM contacts c
		CROSS JOIN LATERAL (
			SELECT type, value FROM contact_identities ci
			WHERE ci.workspace_id = c.workspace_id AND ci.contact_id = c.id AND ci.type IN ('EMAIL', 'PHONE')
			ORDER BY ci.type, ci.value LIMIT 1) i
		WHERE c.workspace_id = $1 ORDER BY c.id LIMIT $2`, env.Workspace, n)
	if err != nil {
		return nil, fmt.Errorf("subscriptions: pick contacts: %w", err)
	}
	defer rows.Close()
	var out []subsContact
	for rows.Next() {
		var c subsContact
		if err := rows.Scan(&c.ID, &c.Type, &c.Value); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) < n {
		return nil, fmt.Errorf("subscriptions: want %d contacts with an email or phone, the workspace has %d", n, len(out))
	}
	return out, nil
}

// subsChange is one change of a contact: which, and when its write was
// sent (µs since the epoch).
type subsChange struct {
	Seq     int64
	Contact int
	Sent    int64
}

// subsTarget is a server that takes the subscribers and the changes.
type subsTarget struct {
	name   string
	wsURL  string
	header http.Header
	init   map[string]any // connection_init payload
	query  string
	vars   func(c subsContact) map[string]any
	// subject is the contact as the event names it.
	subject func(c subsContact) string
	// write makes the changes in one write; it returns when they are
	// committed.
	write func(ctx context.Context, contacts []subsContact, changes []subsChange) error
	rss   func() (int64, error)
	// primed, when set, is called once every subscriber is primed and the
	// RSS read, before the load (for profiles).
	primed func(ctx context.Context) error
	// setup prepares the database before the target is measured and
	// returns what undoes it.
	setup func(ctx context.Context) (func(), error)
	// how says how the producer writes, for the report.
	how string
}

const subsCrmhubQuery = `subscription($id: ID!) { contactChanged(id: $id) { type subjectId payload } }`

// crmhubSubsTarget is crmhub served by target (env.Crmhub, or
// env.CrmhubBaseline for an A/B of two builds).
func crmhubSubsTarget(env *run.Env, target *run.Target) *subsTarget {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return &subsTarget{
		name:  target.Name,
		wsURL: "ws" + strings.TrimPrefix(target.URL, "http") + "/graphql",
		init:  map[string]any{"Authorization": "Bearer " + env.APIKey},
		query: subsCrmhubQuery,
		vars: func(c subsContact) map[string]any {
			return map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, c.ID)}
		},
		subject: func(c subsContact) string { return crmhub.GlobalID(crmhub.KindContact, c.ID) },
		rss:     target.RSS,
		how:     "`upsertContacts` over HTTP (the contact found by its email or phone)",
		write: func(ctx context.Context, contacts []subsContact, changes []subsChange) error {
			in := make([]map[string]any, len(changes))
			for i, ch := range changes {
				c := contacts[ch.Contact]
				in[i] = map[string]any{"identifiers": []map[string]any{{"type": c.Type, "value": c.Value}},
					"customFields": map[string]any{"bench_seq": ch.Seq, "bench_sent": ch.Sent}}
			}
			req, err := env.CrmhubRequest(`mutation($in: [ContactUpsertInput!]!) {
				upsertContacts(input: $in) { results { status errors { message } } } }`, map[string]any{"in": in})
			if err != nil {
				return err
			}
			req.URL.Host = strings.TrimPrefix(target.URL, "http://")
			var out struct {
				Data struct {
					UpsertContacts struct {
						Results []struct {
							Status string
							Errors []struct{ Message string }
						}
					}
				}
				Errors []struct{ Message string }
			}
			if err := doJSON(client, req.WithContext(ctx), &out); err != nil {
				return err
			}
			if len(out.Errors) > 0 {
				return fmt.Errorf("upsertContacts: %s", out.Errors[0].Message)
			}
			rs := out.Data.UpsertContacts.Results
			if len(rs) != len(changes) {
				return fmt.Errorf("upsertContacts: %d results for %d contacts", len(rs), len(changes))
			}
			for _, r := range rs {
				if r.Status != "UPDATED" {
					return fmt.Errorf("upsertContacts: a change came back %s %v", r.Status, r.Errors)
				}
			}
			return nil
		},
	}
}

func doJSON(client *http.Client, req *http.Request, out any) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("HTTP %d: %w", res.StatusCode, err)
	}
	return nil
}

const subsPostGraphileQuery = `subscription($id: UUID!) { contactChanged(id: $id) { type subjectId payload } }`

// subsTrigger is what the peers' contactChanged listens to: a NOTIFY per
// changed contact carrying what crmhub's contact.updated event carries
// (its type, the contact's global id as subjectId, and the payload crmhub
// builds: id, name, uri, customFields, tags and the names of the changed
// columns), built once by the same function for both peers. Its argument
// picks the channel: 'per-contact' NOTIFYs the contact's own channel
// "bench_contact:<uuid>" (PostGraphile, bench/postgraphile/graphile.config.mjs,
// LISTENs on one channel per subscribed contact); 'one' NOTIFYs the single
// channel run.GraphQLWSChannel, which the graphql-ws peer LISTENs on once
// and routes by subjectId. The trigger exists only while a peer is
// measured.
const subsTrigger = `
CREATE FUNCTION bench_contact_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gid text := 'ct_' || replace(NEW.id::text, '-', '');
  changed text[] := '{}';
  body text;
BEGIN
  IF NEW.name IS DISTINCT FROM OLD.name THEN changed := changed || 'name'::text; END IF;
  IF NEW.uri IS DISTINCT FROM OLD.uri THEN changed := changed || 'uri'::text; END IF;
  IF NEW.responsible_user_id IS DISTINCT FROM OLD.responsible_user_id THEN changed := changed || 'responsibleUser'::text; END IF;
  IF NEW.custom_fields IS DISTINCT FROM OLD.custom_fields THEN changed := changed || 'customFields'::text; END IF;
  body := jsonb_build_object('type', 'contact.updated', 'subjectId', gid,
    'payload', jsonb_build_object('id', gid, 'name', NEW.name, 'uri', NEW.uri, 'customFields', NEW.custom_fields,
      'tags', (SELECT coalesce(jsonb_agg(t.tag ORDER BY t.tag), '[]') FROM contact_tags t
               WHERE t.workspace_id = NEW.workspace_id AND t.contact_id = NEW.id))
      || CASE WHEN cardinality(changed) > 0 THEN jsonb_build_object('changed', changed) ELSE '{}' END)::text;
  IF TG_ARGV[0] = 'one' THEN
    PERFORM pg_notify('` + run.GraphQLWSChannel + `', body);
  ELSE
    PERFORM pg_notify('bench_contact:' || NEW.id, body);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bench_contact_changed AFTER UPDATE ON contacts FOR EACH ROW EXECUTE FUNCTION bench_contact_changed(%s);`

const subsDropTrigger = `DROP TRIGGER IF EXISTS bench_contact_changed ON contacts; DROP FUNCTION IF EXISTS bench_contact_changed();`

// subsSetTrigger creates the trigger for channel ('per-contact' or 'one')
// and returns what drops it.
func subsSetTrigger(env *run.Env, channel string) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		if _, err := env.Pool.Exec(ctx, subsDropTrigger+fmt.Sprintf(subsTrigger, "'"+channel+"'")); err != nil {
			return nil, fmt.Errorf("create the NOTIFY trigger: %w", err)
		}
		return func() { env.Pool.Exec(context.WithoutCancel(ctx), subsDropTrigger) }, nil
	}
}

// subsSQLWrite changes the contacts with one SQL UPDATE through the
// runner's pool, which fires the trigger: the peers' schemas are
// read-only.
func subsSQLWrite(env *run.Env) func(ctx context.Context, contacts []subsContact, changes []subsChange) error {
	return func(ctx context.Context, contacts []subsContact, changes []subsChange) error {
		ids := make([]uuid.UUID, len(changes))
		seqs := make([]int64, len(changes))
		sent := make([]int64, len(changes))
		for i, ch := range changes {
			ids[i], seqs[i], sent[i] = contacts[ch.Contact].ID, ch.Seq, ch.Sent
		}
		tag, err := env.Pool.Exec(ctx, `
			UPDATE contacts c SET custom_fields = c.custom_fields || jsonb_build_object('bench_seq', u.seq, 'bench_sent', u.sent),
				updated_at = now()
			FROM unnest($2::uuid[], $3::bigint[], $4::bigint[]) AS u(id, seq, sent)
			WHERE c.workspace_id = $1 AND c.id = u.id`, env.Workspace, ids, seqs, sent)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) != len(changes) {
			return fmt.Errorf("updated %d of %d contacts", tag.RowsAffected(), len(changes))
		}
		return nil
	}
}

func postgraphileSubsTarget(env *run.Env) *subsTarget {
	h := http.Header{}
	h.Set("X-Workspace-Id", env.Workspace.String())
	return &subsTarget{
		name:    "postgraphile",
		wsURL:   "ws" + strings.TrimPrefix(env.PostGraphile.URL, "http") + "/graphql",
		header:  h,
		init:    map[string]any{},
		query:   subsPostGraphileQuery,
		vars:    func(c subsContact) map[string]any { return map[string]any{"id": c.ID.String()} },
		subject: func(c subsContact) string { return crmhub.GlobalID(crmhub.KindContact, c.ID) },
		rss:     env.PostGraphile.RSS,
		how: "one SQL `UPDATE` of the batch's contacts through the runner's pool (PostGraphile's schema here is " +
			"read-only), and a trigger that NOTIFYs each contact's own channel",
		setup: subsSetTrigger(env, "per-contact"),
		write: subsSQLWrite(env),
	}
}

// graphqlwsSubsTarget is the reference graphql-ws server (bench/graphqlws):
// the same operation and variables as crmhub's, the same SQL write and
// trigger payload as PostGraphile's, on one channel.
func graphqlwsSubsTarget(env *run.Env) *subsTarget {
	return &subsTarget{
		name:  "graphql-ws",
		wsURL: "ws" + strings.TrimPrefix(env.GraphQLWS.URL, "http") + "/graphql",
		init:  map[string]any{},
		query: subsCrmhubQuery,
		vars: func(c subsContact) map[string]any {
			return map[string]any{"id": crmhub.GlobalID(crmhub.KindContact, c.ID)}
		},
		subject: func(c subsContact) string { return crmhub.GlobalID(crmhub.KindContact, c.ID) },
		rss:     env.GraphQLWS.RSS,
		how: "one SQL `UPDATE` of the batch's contacts through the runner's pool, and a trigger that NOTIFYs one channel " +
			"(`" + run.GraphQLWSChannel + "`), on which the server LISTENs once and routes by contact id",
		setup: subsSetTrigger(env, "one"),
		write: subsSQLWrite(env),
	}
}

// subsResult is one measurement of one target.
type subsResult struct {
	Subscribers, Connected int
	ConnectErr             string // the first failure to connect
	ConnectTime            time.Duration
	Primed                 int // subscribers whose priming event arrived
	PrimePasses            int

	Sent, Expected, Delivered int // of the load phase
	Dropped, Duplicates       int
	Misrouted                 int    // events for another subscriber's contact
	Ended                     int    // subscriptions the server ended or sockets it closed
	EndReason                 string // the first of them
	WriteErrors               int
	WriteErr                  string
	Rate                      float64 // changes per second achieved
	P50, P99, Max             time.Duration
	WriteP50, WriteP99        time.Duration
	// AfterWriteP50 and AfterWriteP99 count from when the write returned
	// (after its commit) instead, zero for an event that came first: the
	// delivery without the write's own time.
	AfterWriteP50, AfterWriteP99 time.Duration

	RSSBefore, RSSConnected, RSSPeak int64
	// Reused says the server process was measured before (a later round):
	// its RSS then starts from what the earlier round left (the Go
	// runtime and node keep freed memory), so its growth per connection
	// means nothing and is left out.
	Reused bool
}

// RSSPerConn is the server's growth from the sockets, per socket.
func (r subsResult) RSSPerConn() float64 {
	if r.Connected == 0 {
		return 0
	}
	return float64(r.RSSConnected-r.RSSBefore) / float64(r.Connected)
}

// deliveredAll says whether the target did the whole work: every
// subscriber connected and primed, every change written and delivered
// exactly once to its subscriber, no subscription ended.
func (r subsResult) deliveredAll() bool {
	return r.Connected == r.Subscribers && r.Primed == r.Connected && r.Lost() == 0 && r.Ended == 0 &&
		r.WriteErrors == 0 && r.Delivered == r.Expected && r.Expected > 0
}

// Lost is every delivery that went wrong: dropped, duplicated or sent to
// the wrong subscriber, and subscribers that never connected.
func (r subsResult) Lost() int {
	return r.Dropped + r.Duplicates + r.Misrouted + (r.Subscribers - r.Connected)
}

func (r subsResult) String() string {
	return fmt.Sprintf("%d/%d connected in %s, %d primed; %d changes at %.0f/s: %d delivered, %d dropped, %d dup, "+
		"%d ended; p50 %s p99 %s max %s; write p99 %s, p99 after write %s; RSS %s -> %s (peak %s), %s/conn",
		r.Connected, r.Subscribers, r.ConnectTime.Round(time.Millisecond), r.Primed, r.Expected, r.Rate, r.Delivered,
		r.Dropped, r.Duplicates, r.Ended, run.Ms(r.P50), run.Ms(r.P99), run.Ms(r.Max), run.Ms(r.WriteP99),
		run.Ms(r.AfterWriteP99), mib(r.RSSBefore), mib(r.RSSConnected), mib(r.RSSPeak), kib(r.RSSPerConn()))
}

// perConnCell is the RSS per connection column of a round.
func perConnCell(r subsResult) string {
	if r.Reused {
		return "(process reused)"
	}
	return kib(r.RSSPerConn())
}

func mib(b int64) string   { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// subsRun is the state of one measurement.
type subsRun struct {
	t        *subsTarget
	contacts []subsContact
	ctx      context.Context

	mu       sync.Mutex
	changes  []subsChange // by Seq
	writeLat []time.Duration
	failed   map[int64]bool // seqs whose write failed
	writeErr error

	recv      []atomic.Int32 // deliveries per Seq
	recvAt    []atomic.Int64 // first delivery per Seq, ns since the epoch
	writtenAt []int64        // when each Seq's write returned, ns since the epoch (under mu)
	primed    []atomic.Bool  // by subscriber
	nPrimed   atomic.Int64
	measureAt atomic.Int64 // first Seq of the load phase (max: none yet)
	delivered atomic.Int64 // deliveries of load-phase Seqs
	misrouted atomic.Int64
	ended     atomic.Int64
	stopping  atomic.Bool
	endReason atomic.Pointer[string]
}

// subscriber is one socket with one subscription.
type subscriber struct {
	i    int
	conn *websocket.Conn
	lat  []time.Duration // load-phase deliveries
	done chan struct{}
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subsEvent is what both targets send per change.
type subsEvent struct {
	Data struct {
		ContactChanged *struct {
			SubjectID string `json:"subjectId"`
			Payload   struct {
				CustomFields struct {
					Seq  *int64 `json:"bench_seq"`
					Sent int64  `json:"bench_sent"`
				} `json:"customFields"`
			} `json:"payload"`
		} `json:"contactChanged"`
	} `json:"data"`
	Errors []struct{ Message string } `json:"errors"`
}

func measureSubscriptions(ctx context.Context, t *subsTarget, contacts []subsContact, sc subsScale) (subsResult, error) {
	res := subsResult{Subscribers: sc.Subscribers}
	if t.setup != nil {
		undo, err := t.setup(ctx)
		if err != nil {
			return res, err
		}
		defer undo()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	contacts = contacts[:sc.Subscribers]
	primeChanges := 20 * sc.Subscribers
	loadChanges := int(float64(sc.Rate)*sc.Duration.Seconds()) + sc.Batch
	r := &subsRun{t: t, contacts: contacts, ctx: ctx, failed: map[int64]bool{},
		changes: make([]subsChange, 0, primeChanges+loadChanges),
		recv:    make([]atomic.Int32, primeChanges+loadChanges), recvAt: make([]atomic.Int64, primeChanges+loadChanges),
		writtenAt: make([]int64, primeChanges+loadChanges), primed: make([]atomic.Bool, len(contacts))}
	r.measureAt.Store(1 << 62)

	var err error
	if res.RSSBefore, err = t.rss(); err != nil {
		return res, err
	}
	start := time.Now()
	subs, connectErr := r.connectAll(sc)
	res.ConnectTime = time.Since(start)
	res.Connected = len(subs)
	if connectErr != nil {
		res.ConnectErr = connectErr.Error()
	}
	defer r.closeAll(subs)
	if len(subs) == 0 {
		return res, fmt.Errorf("no subscriber connected: %v", connectErr)
	}

	// Priming: change every subscriber's contact until each has had an
	// event; a subscription the server registered late is given another
	// pass, within sc.Prime.
	primeRate := max(2*sc.Rate, 100)
	primeEnd := time.Now().Add(sc.Prime)
	for pass := 1; int(r.nPrimed.Load()) < len(subs) && time.Now().Before(primeEnd); pass++ {
		res.PrimePasses = pass
		var todo []int
		for _, s := range subs {
			if !r.primed[s.i].Load() {
				todo = append(todo, s.i)
			}
		}
		if err := r.produce(ctx, primeRate, min(crmhub.MaxBatch, max(sc.Batch, 20)), len(todo),
			func(k int) int { return todo[k] }); err != nil {
			return res, err
		}
		r.wait(func() bool { return int(r.nPrimed.Load()) >= len(subs) }, min(5*time.Second, max(time.Until(primeEnd), 0)))
	}
	res.Primed = int(r.nPrimed.Load())
	if res.RSSConnected, err = t.rss(); err != nil {
		return res, err
	}
	if t.primed != nil {
		if err := t.primed(ctx); err != nil {
			return res, err
		}
	}

	// The load: Rate changes a second over the connected subscribers'
	// contacts in turn.
	r.mu.Lock()
	first := int64(len(r.changes))
	r.writeLat = nil
	r.mu.Unlock()
	r.measureAt.Store(first)
	peak := make(chan int64)
	stopRSS := make(chan struct{})
	go func() {
		var m int64
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := t.rss(); err == nil {
				m = max(m, v)
			}
			select {
			case <-stopRSS:
				peak <- m
				return
			case <-tick.C:
			}
		}
	}()
	loadStart := time.Now()
	n := int(float64(sc.Rate) * sc.Duration.Seconds())
	if err := r.produce(ctx, sc.Rate, sc.Batch, n, func(k int) int { return subs[k%len(subs)].i }); err != nil {
		close(stopRSS)
		return res, err
	}
	took := time.Since(loadStart)
	r.mu.Lock()
	last := int64(len(r.changes))
	expected := 0
	for seq := first; seq < last; seq++ {
		if !r.failed[seq] {
			expected++
		}
	}
	res.WriteErrors = len(r.failed)
	if r.writeErr != nil {
		res.WriteErr = r.writeErr.Error()
	}
	writeLat := slices.Clone(r.writeLat)
	r.mu.Unlock()
	r.wait(func() bool { return int(r.delivered.Load()) >= expected }, sc.Drain)
	close(stopRSS)
	res.RSSPeak = <-peak
	r.stopping.Store(true)

	res.Sent = int(last - first)
	res.Expected = expected
	res.Rate = float64(res.Sent) / took.Seconds()
	for seq := first; seq < last; seq++ {
		switch n := r.recv[seq].Load(); {
		case n == 0 && !r.failed[seq]:
			res.Dropped++
		case n > 1:
			res.Duplicates += int(n - 1)
		}
		res.Delivered += min(int(r.recv[seq].Load()), 1)
	}
	res.Misrouted = int(r.misrouted.Load())
	res.Ended = int(r.ended.Load())
	if p := r.endReason.Load(); p != nil {
		res.EndReason = *p
	}
	// The readers are still running: stop them before reading their
	// latencies.
	r.closeAll(subs)
	var lat []time.Duration
	for _, s := range subs {
		lat = append(lat, s.lat...)
	}
	res.P50, res.P99, res.Max = percentiles(lat)
	res.WriteP50, res.WriteP99, _ = percentiles(writeLat)
	var afterWrite []time.Duration
	for seq := first; seq < last; seq++ {
		if at := r.recvAt[seq].Load(); at > 0 && !r.failed[seq] {
			afterWrite = append(afterWrite, max(0, time.Duration(at-r.writtenAt[seq])))
		}
	}
	res.AfterWriteP50, res.AfterWriteP99, _ = percentiles(afterWrite)
	return res, nil
}

// percentiles are the median, the 99th percentile and the maximum.
func percentiles(d []time.Duration) (p50, p99, maxd time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], d[len(d)-1]
}

// wait polls done until it holds or timeout passes.
func (r *subsRun) wait(done func() bool, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for !done() && time.Now().Before(deadline) && r.ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// connectAll opens the sockets, sc.Dialers at a time; it returns those that
// are subscribed and the first failure.
func (r *subsRun) connectAll(sc subsScale) ([]*subscriber, error) {
	var (
		mu    sync.Mutex
		subs  []*subscriber
		first error
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	for range sc.Dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.contacts) || r.ctx.Err() != nil {
					return
				}
				s, err := r.connect(i)
				mu.Lock()
				if err != nil {
					first = cmpOrErr(first, fmt.Errorf("subscriber %d: %w", i, err))
				} else {
					subs = append(subs, s)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(subs, func(a, b *subscriber) int { return a.i - b.i })
	return subs, first
}

func cmpOrErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// connect opens one socket, initializes it, subscribes and starts its
// reader.
func (r *subsRun) connect(i int) (*subscriber, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	conn, err := dialSub(ctx, r.t, r.contacts[i])
	if err != nil {
		return nil, err
	}
	s := &subscriber{i: i, conn: conn, done: make(chan struct{})}
	go r.read(s)
	return s, nil
}

// dialSub opens one socket to t, initializes it and subscribes to c's
// changes.
func dialSub(ctx context.Context, t *subsTarget, c subsContact) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, t.wsURL, &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: t.header, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*websocket.Conn, error) {
		conn.CloseNow()
		return nil, err
	}
	if err := writeMsg(ctx, conn, wsMessage{Type: "connection_init", Payload: mustJSON(t.init)}); err != nil {
		return fail(err)
	}
	for {
		var m wsMessage
		_, b, err := conn.Read(ctx)
		if err != nil {
			return fail(fmt.Errorf("waiting for connection_ack: %w", err))
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return fail(fmt.Errorf("undecodable %q", b))
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type != "ping" && m.Type != "pong" {
			return fail(fmt.Errorf("want connection_ack, got %s", b))
		}
	}
	sub := mustJSON(map[string]any{"query": t.query, "variables": t.vars(c)})
	if err := writeMsg(ctx, conn, wsMessage{ID: "1", Type: "subscribe", Payload: sub}); err != nil {
		return fail(err)
	}
	return conn, nil
}

// subsCheckPeer checks that peer sends what crmhub sends for the same
// change: with the peer's trigger in place, a change of c written through
// crmhub (crm.write) reaches a subscriber of each, and the two
// contactChanged values (type, subjectId and the whole payload) must be
// equal. The subscribe is not acknowledged, so the change is written
// again until both subscribers have had it, a few times at most.
func subsCheckPeer(ctx context.Context, crm, peer *subsTarget, c subsContact) error {
	if peer.setup != nil {
		undo, err := peer.setup(ctx)
		if err != nil {
			return err
		}
		defer undo()
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	type got struct {
		seq int64
		raw json.RawMessage
	}
	listen := func(t *subsTarget) (chan got, func(), error) {
		conn, err := dialSub(ctx, t, c)
		if err != nil {
			return nil, nil, fmt.Errorf("check: subscribe on %s: %w", t.name, err)
		}
		ch := make(chan got, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var m wsMessage
				if json.Unmarshal(b, &m) != nil || m.Type != "next" {
					continue
				}
				var e subsEvent
				var raw struct {
					Data struct {
						ContactChanged json.RawMessage `json:"contactChanged"`
					} `json:"data"`
				}
				if json.Unmarshal(m.Payload, &e) != nil || json.Unmarshal(m.Payload, &raw) != nil ||
					e.Data.ContactChanged == nil || e.Data.ContactChanged.Payload.CustomFields.Seq == nil {
					continue
				}
				select {
				case ch <- got{*e.Data.ContactChanged.Payload.CustomFields.Seq, raw.Data.ContactChanged}:
				default:
				}
			}
		}()
		return ch, func() { conn.CloseNow(); <-done }, nil
	}
	a, closeA, err := listen(crm)
	if err != nil {
		return err
	}
	defer closeA()
	b, closeB, err := listen(peer)
	if err != nil {
		return err
	}
	defer closeB()
	const base = 1 << 40 // far from the measurement's sequence numbers
	for attempt := range 10 {
		seq := int64(base + attempt)
		if err := crm.write(ctx, []subsContact{c}, []subsChange{{Seq: seq, Sent: time.Now().UnixMicro()}}); err != nil {
			return fmt.Errorf("check: write: %w", err)
		}
		var fromCrmhub, fromPeer json.RawMessage
		deadline := time.After(2 * time.Second)
	wait:
		for fromCrmhub == nil || fromPeer == nil {
			select {
			case g := <-a:
				if g.seq == seq {
					fromCrmhub = g.raw
				}
			case g := <-b:
				if g.seq == seq {
					fromPeer = g.raw
				}
			case <-deadline:
				break wait
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if fromCrmhub == nil || fromPeer == nil {
			continue
		}
		var x, y any
		if err := json.Unmarshal(fromCrmhub, &x); err != nil {
			return err
		}
		if err := json.Unmarshal(fromPeer, &y); err != nil {
			return err
		}
		if !reflect.DeepEqual(x, y) {
			return fmt.Errorf("check: for the same change crmhub sent %s and %s sent %s", fromCrmhub, peer.name, fromPeer)
		}
		return nil
	}
	return fmt.Errorf("check: the change did not reach both crmhub's and %s's subscriber in 10 attempts", peer.name)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func writeMsg(ctx context.Context, conn *websocket.Conn, m wsMessage) error {
	return conn.Write(ctx, websocket.MessageText, mustJSON(m))
}

// read takes a subscriber's messages until its socket closes.
func (r *subsRun) read(s *subscriber) {
	defer close(s.done)
	want := r.t.subject(r.contacts[s.i])
	for {
		_, b, err := s.conn.Read(r.ctx)
		if err != nil {
			if !r.stopping.Load() && r.ctx.Err() == nil {
				r.end(fmt.Sprintf("socket closed: %v", err))
			}
			return
		}
		now := time.Now()
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			r.end(fmt.Sprintf("undecodable message %q", b))
			continue
		}
		switch m.Type {
		case "ping":
			ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
			writeMsg(ctx, s.conn, wsMessage{Type: "pong"})
			cancel()
		case "error", "complete":
			r.end(fmt.Sprintf("%s %s", m.Type, m.Payload))
		case "next":
			var e subsEvent
			err := json.Unmarshal(m.Payload, &e)
			cc := e.Data.ContactChanged
			if err != nil || len(e.Errors) > 0 || cc == nil || cc.Payload.CustomFields.Seq == nil {
				r.end(fmt.Sprintf("unexpected result %s", m.Payload))
				continue
			}
			seq := *cc.Payload.CustomFields.Seq
			if cc.SubjectID != want || seq < 0 || seq >= int64(len(r.recv)) {
				r.misrouted.Add(1)
				continue
			}
			first := r.recv[seq].Add(1) == 1
			if first {
				r.recvAt[seq].Store(now.UnixNano())
			}
			if !r.primed[s.i].Swap(true) {
				r.nPrimed.Add(1)
			}
			if first && seq >= r.measureAt.Load() {
				r.delivered.Add(1)
				s.lat = append(s.lat, now.Sub(time.UnixMicro(cc.Payload.CustomFields.Sent)))
			}
		}
	}
}

func (r *subsRun) end(reason string) {
	r.ended.Add(1)
	r.endReason.CompareAndSwap(nil, &reason)
}

// closeAll closes the sockets and waits for their readers.
func (r *subsRun) closeAll(subs []*subscriber) {
	r.stopping.Store(true)
	for _, s := range subs {
		s.conn.CloseNow()
	}
	for _, s := range subs {
		<-s.done
	}
}

// produce makes n changes, batch per write, rate changes a second, the
// k-th to contact pick(k). Writes start on schedule; at most 64 are in
// flight, past which the producer falls behind (the achieved rate shows
// it). It returns when every write has returned.
func (r *subsRun) produce(ctx context.Context, rate, batch, n int, pick func(k int) int) error {
	interval := time.Duration(float64(batch) / float64(rate) * float64(time.Second))
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for k, tick := 0, 0; k < n; tick++ {
		if d := time.Until(start.Add(time.Duration(tick) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		sent := time.Now()
		r.mu.Lock()
		var changes []subsChange
		for ; k < n && len(changes) < batch; k++ {
			ch := subsChange{Seq: int64(len(r.changes)), Contact: pick(k), Sent: sent.UnixMicro()}
			if int(ch.Seq) >= len(r.recv) {
				r.mu.Unlock()
				return errors.New("subscriptions: more changes than planned")
			}
			r.changes = append(r.changes, ch)
			changes = append(changes, ch)
		}
		r.mu.Unlock()
		wg.Go(func() {
			defer func() { <-sem }()
			err := r.t.write(ctx, r.contacts, changes)
			done := time.Now()
			r.mu.Lock()
			defer r.mu.Unlock()
			r.writeLat = append(r.writeLat, done.Sub(sent))
			for _, ch := range changes {
				r.writtenAt[ch.Seq] = done.UnixNano()
			}
			if err != nil {
				r.writeErr = cmpOrErr(r.writeErr, err)
				for _, ch := range changes {
					r.failed[ch.Seq] = true
				}
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// subsSection writes the report's section.
func subsSection(sc subsScale, targets []*subsTarget, results map[string][]subsResult) *run.Section {
	var b strings.Builder
	fmt.Fprintf(&b, "%d websocket subscribers (graphql-transport-ws, one socket and one subscription each: "+
		"`contactChanged(id)` of a contact of their own) on one server process; a producer changes their contacts, "+
		"%d changes/s in writes of %d, for %s, round-robin over the subscribers. Every change carries its send time; "+
		"delivery latency is receive time minus send time, so it includes the write (write p99); \"p99 after write\" "+
		"counts from when the write returned instead (after its commit; an event that came first counts 0). A drop is a change whose event "+
		"never reached its subscriber (after a %s drain); the server ending a subscription counts too. "+
		"Before the load each subscriber's contact is changed once and its event awaited (priming), which shows every "+
		"subscription is live. RSS is the server process's resident set: before the sockets open, after all are "+
		"primed, and the peak under load; per connection = (primed - before) / sockets, from each server's first round only (later rounds reuse the process and start from the memory it kept).\n\n",
		sc.Subscribers, sc.Rate, sc.Batch, sc.Duration, sc.Drain)
	for _, t := range targets {
		fmt.Fprintf(&b, "- %s: the producer writes through %s.\n", t.name, t.how)
	}
	b.WriteString("\n| target | round | connected | connect time | changes | rate | delivered | dropped | ended by server | " +
		"p50 | p99 | max | write p99 | p99 after write | RSS before | RSS primed | RSS peak | RSS / conn |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range targets {
		for i, r := range results[t.name] {
			fmt.Fprintf(&b, "| %s | %d | %d/%d | %.1f s | %d | %.0f/s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				t.name, i+1, r.Connected, r.Subscribers, r.ConnectTime.Seconds(), r.Sent, r.Rate, r.Delivered, r.Dropped,
				r.Ended, run.Ms(r.P50), run.Ms(r.P99), run.Ms(r.Max), run.Ms(r.WriteP99), run.Ms(r.AfterWriteP99), mib(r.RSSBefore),
				mib(r.RSSConnected), mib(r.RSSPeak), perConnCell(r))
		}
	}
	b.WriteString("\n")
	for _, t := range targets {
		for i, r := range results[t.name] {
			var notes []string
			if r.ConnectErr != "" {
				notes = append(notes, "first connect failure: "+r.ConnectErr)
			}
			if r.Primed < r.Connected {
				notes = append(notes, fmt.Sprintf("only %d of %d subscriptions were live after %d priming passes", r.Primed, r.Connected, r.PrimePasses))
			}
			if r.Duplicates > 0 || r.Misrouted > 0 {
				notes = append(notes, fmt.Sprintf("%d duplicate and %d misrouted deliveries", r.Duplicates, r.Misrouted))
			}
			if r.EndReason != "" {
				notes = append(notes, "first subscription ended: "+r.EndReason)
			}
			if r.WriteErr != "" {
				notes = append(notes, fmt.Sprintf("%d changes failed to write, first: %s", r.WriteErrors, r.WriteErr))
			}
			if len(notes) > 0 {
				fmt.Fprintf(&b, "%s round %d: %s.\n\n", t.name, i+1, strings.Join(notes, "; "))
			}
		}
	}

	for _, r := range results["postgraphile"] {
		if r.Primed < r.Connected {
			b.WriteString("PostGraphile's subscriptions were not all live: its PgSubscriber (@dataplan/pg) LISTENs on one " +
				"connection and, for every new topic, re-syncs by comparing every topic with every channel it listens " +
				"on (`Array.includes` inside a filter), so with 10,000 topics each subscribe costs ~10^8 comparisons on " +
				"node's only thread: the LISTENs fall minutes behind and the event loop starves, so events for " +
				"channels not yet listened to are lost and the others wait. Its drops and latencies are therefore " +
				"those of a server past its limit; its RSS per connection is still measured after all sockets are " +
				"open and subscribed.\n\n")
			break
		}
	}
	c := results["crmhub"]
	worstP99, lost := time.Duration(0), 0
	var perConn []float64
	for _, r := range c {
		worstP99 = max(worstP99, r.P99)
		lost += r.Lost() + r.Ended
		if !r.Reused {
			perConn = append(perConn, r.RSSPerConn())
		}
	}
	crmConn := medianOf(perConn)
	ratios := []run.Ratio{
		{What: fmt.Sprintf("crmhub delivery p99, %d subscribers, %d events/s (worst round)", sc.Subscribers, sc.Rate),
			Value: float64(worstP99) / float64(time.Millisecond), Unit: "ms", Goal: "< 100 ms", Met: worstP99 < 100*time.Millisecond},
		{What: "crmhub events dropped (all rounds; with duplicates, misrouted, ended subscriptions, unconnected subscribers)",
			Value: float64(lost), Unit: "events", Goal: "0", Met: lost == 0},
		{What: "crmhub RSS per connection (first round: a fresh process)", Value: crmConn / 1024, Unit: "KiB", Goal: "<= 40 KiB",
			Met: crmConn > 0 && crmConn <= 40*1024},
	}
	// A peer's memory compares with crmhub's only if it did the same work:
	// every subscriber connected and primed, every event delivered once,
	// nothing ended, every write made.
	fmt.Fprintf(&b, "RSS per connection (of each server's first round, a fresh process; later rounds reuse it): crmhub %s", kib(crmConn))
	var usable, unusable []string
	for _, t := range targets {
		if t.name == "crmhub" {
			continue
		}
		var conn []float64
		complete := true
		for _, r := range results[t.name] {
			if !r.Reused {
				conn = append(conn, r.RSSPerConn())
			}
			complete = complete && r.deliveredAll()
		}
		fmt.Fprintf(&b, ", %s %s", t.name, kib(medianOf(conn)))
		if medianOf(conn) <= 0 {
			continue
		}
		if t.name == "crmhub-baseline" {
			ratios = append(ratios, run.Ratio{What: "RSS per connection, crmhub / crmhub-baseline (first rounds)",
				Value: crmConn / medianOf(conn), Unit: "x", Goal: "reported", Met: true})
			continue
		}
		if !complete {
			unusable = append(unusable, t.name)
			continue
		}
		usable = append(usable, t.name)
		ratios = append(ratios, run.Ratio{What: fmt.Sprintf("RSS per connection, crmhub / %s (a peer that delivered every event; first rounds)", t.name),
			Value: crmConn / medianOf(conn), Unit: "x", Goal: "reported", Met: true})
	}
	b.WriteString(".\n\n")
	for _, name := range unusable {
		fmt.Fprintf(&b, "%s did not deliver every event (see its drops, duplicates, unprimed or ended subscriptions above): "+
			"its memory per connection is not compared with crmhub's.\n\n", name)
	}
	if len(usable) == 0 {
		b.WriteString("No peer delivered every event: crmhub's memory per connection is compared with no peer.\n\n")
	}
	return &run.Section{Title: "Subscriptions", Body: b.String(), Ratios: ratios}
}
