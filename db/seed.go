package db

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SeedConfig says how large a benchmark dataset Seed makes. Every count is
// exact; zero makes none of that kind.
type SeedConfig struct {
	Contacts int
	// Deals are linked to one or two contacts each.
	Deals int
	// Conversations are spread over the contacts; past one conversation per
	// contact and channel the extra ones are CLOSED, so the one live
	// conversation per chat rule holds.
	Conversations           int
	MessagesPerConversation int
	// Users are the responsible users and assignees the other rows point at.
	Users int
	// Seed picks the dataset: the same seed makes the same content.
	Seed uint64
	// Epoch is the instant every timestamp lies before; zero means
	// SeedEpoch, so that the content does not depend on when Seed runs.
	Epoch time.Time
	// Parallel is how many connections load at once; 0 means 2.
	Parallel int
}

// DefaultSeedConfig is the dataset `crmhub seed` makes without flags.
var DefaultSeedConfig = SeedConfig{Contacts: 100_000, Deals: 20_000, Conversations: 50_000,
	MessagesPerConversation: 20, Users: 200, Seed: 1}

// Scaled returns c with its deals, conversations and users in
// DefaultSeedConfig's proportion to contacts (at least one user, and one
// deal and conversation while there are contacts), for a dataset of
// another size: `crmhub seed --contacts 200` makes 40 deals, not 20,000.
func (c SeedConfig) Scaled(contacts int) SeedConfig {
	d := DefaultSeedConfig
	scale := func(n int) int {
		if contacts <= 0 {
			return 0
		}
		return max(1, int(int64(n)*int64(contacts)/int64(d.Contacts)))
	}
	c.Contacts = contacts
	c.Deals, c.Conversations = scale(d.Deals), scale(d.Conversations)
	c.Users = max(1, scale(d.Users))
	return c
}

// SeedEpoch is the default end of the seeded time line.
var SeedEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Limits of a seed, which keep the generated identities unique (phone and
// email suffixes are permutations of the contact index below these sizes).
const (
	MaxSeedContacts                = 10_000_000
	MaxSeedUsers                   = 100_000
	MaxSeedDeals                   = 10_000_000
	MaxSeedConversations           = 10_000_000
	MaxSeedMessagesPerConversation = 1_000
)

// SeedStats counts the rows Seed wrote.
type SeedStats struct {
	Users         int
	Contacts      int
	Identities    int
	Tags          int
	Deals         int
	DealContacts  int
	Conversations int
	Messages      int
	Duration      time.Duration
}

// Validate checks the counts; errors are EINVALID with the field named as
// the CLI flag is.
func (c SeedConfig) Validate() error {
	for _, f := range []struct {
		name   string
		n, max int
	}{
		{"contacts", c.Contacts, MaxSeedContacts},
		{"deals", c.Deals, MaxSeedDeals},
		{"conversations", c.Conversations, MaxSeedConversations},
		{"messages-per-conversation", c.MessagesPerConversation, MaxSeedMessagesPerConversation},
		{"users", c.Users, MaxSeedUsers},
	} {
		if f.n < 0 || f.n > f.max {
			return crmhub.Invalid(f.name, "%s must be between 0 and %d, got %d", f.name, f.max, f.n)
		}
	}
	if c.Contacts == 0 && (c.Deals > 0 || c.Conversations > 0) {
		return crmhub.Invalid("contacts", "deals and conversations need at least one contact")
	}
	if c.Parallel < 0 {
		return crmhub.Invalid("parallel", "parallel must not be negative")
	}
	return nil
}

// Seed loads a deterministic benchmark dataset into the empty workspace ws:
// users, contacts with identities, tags and custom fields, deals linked to
// contacts, and conversations with alternating inbound and outbound
// messages whose last_message_at, last_inbound_at and unanswered agree
// with the messages.
//
// Content (names, identity values, tags, amounts, timestamps, texts) is a
// function of cfg alone: the same seed makes the same content in any
// workspace. Ids are deterministic too but not random: UUIDv7-shaped, with
// a time part that counts rows from the epoch (not their created_at) and
// the rest derived from the seed and the workspace, so they differ between
// workspaces.
//
// It is a bulk load, not a series of domain writes: it emits no events and
// leaves workspaces.event_seq alone, so subscriptions, webhooks and sync
// pushes never see seeded rows. Rows are written with COPY into a
// transaction-local staging table and moved with INSERT ... SELECT, since
// PostgreSQL refuses COPY FROM into a table under row-level security; the
// tenant is set in every transaction, so RLS checks each row. Batches
// commit on their own (several connections load at once), so a failure
// midway leaves the batches that committed.
//
// It needs a workspace that holds no contacts, users, deals or
// conversations, and refuses (ECONFLICT) while another seed of ws runs;
// an unknown ws is ENOTFOUND.
func Seed(ctx context.Context, d *DB, ws uuid.UUID, cfg SeedConfig) (SeedStats, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return SeedStats{}, err
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = SeedEpoch
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = 2
	}
	release, err := claimForSeed(ctx, d, ws)
	if err != nil {
		return SeedStats{}, err
	}
	defer release()

	g := newSeedGen(ws, cfg)
	l := &seedLoader{d: d, ws: ws}
	// Parents commit before the batches whose foreign keys point at them.
	if err := l.run(ctx, 1, []seedJob{func(ctx context.Context, tx pgx.Tx) error {
		return l.copy(ctx, tx, seedUsers, g.userRows(ws), &l.stats.Users)
	}}); err != nil {
		return l.stats, err
	}
	var jobs []seedJob
	for lo := 0; lo < cfg.Contacts; lo += seedContactBatch {
		hi := min(lo+seedContactBatch, cfg.Contacts)
		jobs = append(jobs, func(ctx context.Context, tx pgx.Tx) error { return l.contacts(ctx, tx, g.fork(), lo, hi) })
	}
	if err := l.run(ctx, cfg.Parallel, jobs); err != nil {
		return l.stats, err
	}
	// Identities go in order of their match key, which keeps the GiST
	// index behind the one-contact-per-identity exclusion constraint
	// several times cheaper to insert into than random order; their batches
	// start first, the slowest work, beside the deals and conversations.
	idents := g.identities()
	jobs = nil
	for lo := 0; lo < len(idents); lo += seedIdentityBatch {
		batch := idents[lo:min(lo+seedIdentityBatch, len(idents))]
		jobs = append(jobs, func(ctx context.Context, tx pgx.Tx) error { return l.identities(ctx, tx, g.fork(), batch) })
	}
	for lo := 0; lo < cfg.Conversations; lo += seedConversationBatch {
		hi := min(lo+seedConversationBatch, cfg.Conversations)
		jobs = append(jobs, func(ctx context.Context, tx pgx.Tx) error { return l.conversations(ctx, tx, g.fork(), lo, hi) })
	}
	for lo := 0; lo < cfg.Deals; lo += seedDealBatch {
		hi := min(lo+seedDealBatch, cfg.Deals)
		jobs = append(jobs, func(ctx context.Context, tx pgx.Tx) error { return l.deals(ctx, tx, g.fork(), lo, hi) })
	}
	if err := l.run(ctx, cfg.Parallel, jobs); err != nil {
		return l.stats, err
	}
	if err := l.run(ctx, 1, []seedJob{func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT contact_search_rebuild($1)", ws)
		return err
	}}); err != nil {
		return l.stats, fmt.Errorf("db: seed: rebuild the search documents: %w", err)
	}
	if err := analyze(ctx, d); err != nil {
		return l.stats, err
	}
	l.stats.Duration = time.Since(start)
	return l.stats, nil
}

// analyze refreshes the planner's statistics after a bulk load: without
// them (autovacuum may be off, or not have run yet) PostgreSQL plans the
// seeded tables as if empty and scans a whole workspace where an index
// reads a page; the nested-page benchmark was 20-100x slower per query
// before this. ANALYZE needs the tables' owner, the role of DATABASE_URL,
// not the service role the pool switches to.
func analyze(ctx context.Context, d *DB) error {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("db: seed: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "RESET ROLE; ANALYZE; SET ROLE "+AppRole); err != nil {
		conn.Conn().Close(ctx) // its role is unknown now: never hand it back
		return fmt.Errorf("db: seed: analyze: %w", err)
	}
	return nil
}

// Rows of the parent table per batch transaction.
const (
	seedContactBatch      = 5_000
	seedIdentityBatch     = 10_000
	seedDealBatch         = 5_000
	seedConversationBatch = 1_000
)

// claimForSeed checks that ws exists and is empty, and holds a session
// advisory lock on a connection of its own until release, so that two
// seeds of one workspace cannot interleave.
func claimForSeed(ctx context.Context, d *DB, ws uuid.UUID) (release func(), err error) {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: seed: acquire connection: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("crmhub.seed"))
	h.Write(ws[:])
	key := int64(h.Sum64())
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&locked); err != nil {
		conn.Release()
		return nil, fmt.Errorf("db: seed: lock workspace: %w", err)
	}
	release = func() {
		conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
		conn.Release()
	}
	if !locked {
		conn.Release() // another seed holds it; this session never did
		return nil, crmhub.Errorf(crmhub.ECONFLICT, "another seed of this workspace is running")
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.workspace_id', $1, true)", ws.String()); err != nil {
			return fmt.Errorf("db: seed: set tenant: %w", err)
		}
		var exists, used bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM workspaces WHERE id = $1),
			EXISTS (SELECT FROM contacts WHERE workspace_id = $1) OR EXISTS (SELECT FROM users WHERE workspace_id = $1) OR
			EXISTS (SELECT FROM deals WHERE workspace_id = $1) OR EXISTS (SELECT FROM conversations WHERE workspace_id = $1)`,
			ws).Scan(&exists, &used)
		switch {
		case err != nil:
			return fmt.Errorf("db: seed: check workspace: %w", err)
		case !exists:
			return crmhub.Errorf(crmhub.ENOTFOUND, "workspace not found")
		case used:
			return crmhub.Errorf(crmhub.ECONFLICT,
				"the workspace already holds contacts, users, deals or conversations; seed loads into an empty workspace only")
		}
		return nil
	})
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// seedTable is a table Seed copies into, with the columns it fills.
type seedTable struct {
	name    string
	columns []string
	orderBy string // of the INSERT ... SELECT, if it matters
}

var (
	seedUsers    = seedTable{name: "users", columns: []string{"workspace_id", "id", "external_id", "name", "email", "created_at", "updated_at"}}
	seedContacts = seedTable{name: "contacts", columns: []string{"workspace_id", "id", "name", "custom_fields", "responsible_user_id",
		"created_at", "updated_at"}}
	seedIdentities = seedTable{name: "contact_identities", columns: []string{"workspace_id", "match_class", "match_source", "value", "type",
		"contact_id", "created_at"}, orderBy: "match_class, value"}
	seedTags  = seedTable{name: "contact_tags", columns: []string{"workspace_id", "contact_id", "tag", "created_at"}}
	seedDeals = seedTable{name: "deals", columns: []string{"workspace_id", "id", "name", "status", "amount", "currency", "stage",
		"responsible_user_id", "created_at", "updated_at", "closed_at"}}
	seedDealContacts  = seedTable{name: "deal_contacts", columns: []string{"workspace_id", "deal_id", "contact_id", "created_at"}}
	seedConversations = seedTable{name: "conversations", columns: []string{"workspace_id", "id", "contact_id", "channel", "chat_id", "status",
		"assignee_id", "last_message_at", "last_inbound_at", "unanswered", "created_at", "updated_at"}}
	seedMessages = seedTable{name: "messages", columns: []string{"workspace_id", "id", "conversation_id", "channel", "direction", "type",
		"text", "status", "attempts", "created_at", "updated_at"}}
)

// seedJob writes one batch inside a transaction whose tenant is set.
type seedJob func(ctx context.Context, tx pgx.Tx) error

// seedLoader runs batches and counts what they wrote.
type seedLoader struct {
	d     *DB
	ws    uuid.UUID
	mu    sync.Mutex
	stats SeedStats
}

// run runs jobs on up to parallel connections, each in its own
// transaction, and returns the first error after the others stop.
func (l *seedLoader) run(ctx context.Context, parallel int, jobs []seedJob) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan seedJob)
	var wg sync.WaitGroup
	for range min(parallel, len(jobs)) {
		wg.Go(func() {
			for job := range next {
				err := pgx.BeginFunc(ctx, l.d.Pool, func(tx pgx.Tx) error {
					// A bulk load: the search documents are rewritten once
					// at the end (rebuildSearch), not per batch.
					if _, err := tx.Exec(ctx, "SELECT set_config('app.workspace_id', $1, true), set_config('crmhub.bulk_load', 'on', true)",
						l.ws.String()); err != nil {
						return fmt.Errorf("db: seed: set tenant: %w", err)
					}
					return job(ctx, tx)
				})
				if err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, job := range jobs {
		select {
		case next <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// copy writes rows into t: COPY into a staging table (with t's defaults, for
// the NOT NULL columns the seed leaves out) that lives until the
// transaction ends, then one INSERT ... SELECT, which row-level security
// checks. It adds the rows written to *count.
func (l *seedLoader) copy(ctx context.Context, tx pgx.Tx, t seedTable, rows [][]any, count *int) error {
	if len(rows) == 0 {
		return nil
	}
	stage := "seed_" + t.name
	cols := strings.Join(t.columns, ", ")
	if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP", stage, t.name)); err != nil {
		return fmt.Errorf("db: seed %s: staging table: %w", t.name, err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stage}, t.columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("db: seed %s: copy: %w", t.name, err)
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", t.name, cols, cols, stage)
	if t.orderBy != "" {
		insert += " ORDER BY " + t.orderBy
	}
	tag, err := tx.Exec(ctx, insert)
	if err != nil {
		return fmt.Errorf("db: seed %s: insert: %w", t.name, err)
	}
	l.mu.Lock()
	*count += int(tag.RowsAffected())
	l.mu.Unlock()
	return nil
}

// contacts writes contacts lo..hi-1 with their tags.
func (l *seedLoader) contacts(ctx context.Context, tx pgx.Tx, g *seedGen, lo, hi int) error {
	var contacts, tags [][]any
	for i := lo; i < hi; i++ {
		c := g.contact(i)
		contacts = append(contacts, []any{l.ws, c.id, c.name, c.fields, c.user, c.created, c.updated})
		for _, tag := range c.tags {
			tags = append(tags, []any{l.ws, c.id, tag, c.created})
		}
	}
	if err := l.copy(ctx, tx, seedContacts, contacts, &l.stats.Contacts); err != nil {
		return err
	}
	return l.copy(ctx, tx, seedTags, tags, &l.stats.Tags)
}

// identities writes a batch of identities.
func (l *seedLoader) identities(ctx context.Context, tx pgx.Tx, g *seedGen, batch []seedIdentity) error {
	rows := make([][]any, len(batch))
	for i, id := range batch {
		contact, created := g.contactRef(int(id.contact))
		rows[i] = []any{l.ws, id.typ.MatchClass(), "", id.value, string(id.typ), contact, created}
	}
	return l.copy(ctx, tx, seedIdentities, rows, &l.stats.Identities)
}

// deals writes deals lo..hi-1 with their contact links.
func (l *seedLoader) deals(ctx context.Context, tx pgx.Tx, g *seedGen, lo, hi int) error {
	var deals, links [][]any
	for i := lo; i < hi; i++ {
		dl := g.deal(i)
		deals = append(deals, []any{l.ws, dl.id, dl.name, dl.status, dl.amount, dl.currency, dl.stage, dl.user,
			dl.created, dl.updated, dl.closed})
		for _, c := range dl.contacts {
			links = append(links, []any{l.ws, dl.id, c, dl.created})
		}
	}
	if err := l.copy(ctx, tx, seedDeals, deals, &l.stats.Deals); err != nil {
		return err
	}
	return l.copy(ctx, tx, seedDealContacts, links, &l.stats.DealContacts)
}

// conversations writes conversations lo..hi-1 with their messages.
func (l *seedLoader) conversations(ctx context.Context, tx pgx.Tx, g *seedGen, lo, hi int) error {
	var convs, msgs [][]any
	for j := lo; j < hi; j++ {
		cv := g.conversation(j)
		convs = append(convs, []any{l.ws, cv.id, cv.contact, cv.channel, cv.chatID, cv.status, cv.assignee,
			cv.lastMessage, cv.lastInbound, cv.unanswered, cv.created, cv.updated})
		for _, m := range cv.messages {
			attempts := 0
			if m.direction == crmhub.Outbound {
				attempts = 1
			}
			msgs = append(msgs, []any{l.ws, m.id, cv.id, cv.channel, string(m.direction), string(crmhub.MessageText),
				m.text, string(m.status), attempts, m.at, m.at})
		}
	}
	if err := l.copy(ctx, tx, seedConversations, convs, &l.stats.Conversations); err != nil {
		return err
	}
	return l.copy(ctx, tx, seedMessages, msgs, &l.stats.Messages)
}

// seedGen makes the rows. Each row is a pure function of the seed and its
// index (its own PCG stream), so batches can be made in any order and on
// any goroutine; ids also mix in the workspace.
type seedGen struct {
	cfg   SeedConfig
	idKey uint64 // from the workspace and the seed
	users []uuid.UUID
	// Multipliers and offsets of the permutations that make phone numbers,
	// email suffixes and the contact of each conversation.
	phoneMul, phoneAdd, suffixMul, suffixAdd uint64
	convMul, convAdd                         uint64

	pcg *rand.PCG
	r   *rand.Rand
}

// Streams of the row generators.
const (
	streamSetup uint64 = iota + 1
	streamUser
	streamContact
	streamDeal
	streamConversation
	streamMessage
)

func newSeedGen(ws uuid.UUID, cfg SeedConfig) *seedGen {
	g := &seedGen{cfg: cfg}
	g.pcg = rand.NewPCG(0, 0)
	g.r = rand.New(g.pcg)
	g.idKey = mix64(binary.BigEndian.Uint64(ws[:8]) ^ mix64(binary.BigEndian.Uint64(ws[8:])^mix64(cfg.Seed)))
	r := g.stream(streamSetup, 0)
	g.phoneMul, g.phoneAdd = coprimeTo(r, 1e9, 10), r.Uint64N(1e9)
	g.suffixMul, g.suffixAdd = coprimeTo(r, 1e7, 10), r.Uint64N(1e7)
	if cfg.Contacts > 0 {
		g.convMul, g.convAdd = coprimeTo(r, uint64(cfg.Contacts), uint64(cfg.Contacts)), r.Uint64N(uint64(cfg.Contacts))
	}
	g.users = make([]uuid.UUID, cfg.Users)
	for i := range g.users {
		g.users[i] = g.user(i).id
	}
	return g
}

// fork returns a generator for another goroutine: same dataset, own stream.
func (g *seedGen) fork() *seedGen {
	f := *g
	f.pcg = rand.NewPCG(0, 0)
	f.r = rand.New(f.pcg)
	return &f
}

// stream positions the generator at the start of row i of a kind.
func (g *seedGen) stream(kind uint64, i int) *rand.Rand {
	g.pcg.Seed(g.cfg.Seed, mix64(kind<<48^uint64(i)))
	return g.r
}

// id is a UUIDv7 whose time part counts rows in the order Seed generates
// them (from the epoch on, one millisecond each) and whose other bits come
// from the workspace, the seed, the kind and the index. Ids that grow
// with the insert order keep the primary key and foreign key indexes
// appending rather than splitting pages all over.
func (g *seedGen) id(kind uint64, i int) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[0:8], uint64(g.cfg.Epoch.UnixMilli()+int64(i))<<16)
	a := mix64(g.idKey ^ mix64(kind<<48^uint64(i)))
	binary.BigEndian.PutUint16(u[6:8], uint16(a))
	binary.BigEndian.PutUint64(u[8:16], mix64(a))
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u
}

// mix64 is splitmix64's finalizer: a bijection that scatters bits.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// coprimeTo returns a multiplier in [1, n) coprime to m, so i -> i*a+b mod n
// is a permutation when m shares n's prime factors (m = 10 for powers of 10,
// m = n otherwise).
func coprimeTo(r *rand.Rand, n, m uint64) uint64 {
	if n <= 1 {
		return 1
	}
	for {
		a := 1 + r.Uint64N(n-1)
		if gcd(a, m) == 1 && gcd(a, n) == 1 {
			return a
		}
	}
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// before returns a time before the epoch: between lo and hi before it,
// truncated to what PostgreSQL stores.
func (g *seedGen) before(r *rand.Rand, lo, hi time.Duration) time.Time {
	return g.cfg.Epoch.Add(-lo - time.Duration(r.Int64N(int64(hi-lo)+1))).Truncate(time.Microsecond)
}

// between returns a time in [from, to].
func between(r *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	return from.Add(time.Duration(r.Int64N(int64(to.Sub(from)) + 1))).Truncate(time.Microsecond)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// userRef returns a random user's id, or nil with probability none.
func (g *seedGen) userRef(r *rand.Rand, none float64) *uuid.UUID {
	if len(g.users) == 0 || r.Float64() < none {
		return nil
	}
	return &g.users[r.IntN(len(g.users))]
}

type seedUser struct {
	id               uuid.UUID
	extID, name      string
	email            string
	created, updated time.Time
}

func (g *seedGen) user(i int) seedUser {
	r := g.stream(streamUser, i)
	first, last := pick(r, seedFirstNames), pick(r, seedLastNames)
	u := seedUser{extID: fmt.Sprintf("seed-user-%d", i+1), name: first + " " + last,
		email:   fmt.Sprintf("%s.%s.%d@team.example.com", strings.ToLower(first), strings.ToLower(last), i+1),
		created: g.before(r, 365*24*time.Hour, 3*365*24*time.Hour)}
	u.updated = between(r, u.created, g.cfg.Epoch)
	u.id = g.id(streamUser, i)
	return u
}

func (g *seedGen) userRows(ws uuid.UUID) [][]any {
	rows := make([][]any, g.cfg.Users)
	for i := range rows {
		u := g.user(i)
		rows[i] = []any{ws, u.id, u.extID, u.name, u.email, u.created, u.updated}
	}
	return rows
}

type seedContact struct {
	id                     uuid.UUID
	name                   string
	phone, email, telegram string
	phoneType              crmhub.IdentityType
	tags                   []string
	fields                 []byte // JSON
	user                   *uuid.UUID
	created, updated       time.Time
}

// identities returns the contact's identities as the identity table stores
// them (normalized values).
func (c *seedContact) identities() []crmhub.Identifier {
	ids := []crmhub.Identifier{{Type: c.phoneType, Value: c.phone}, {Type: crmhub.IdentityEmail, Value: c.email}}
	if c.telegram != "" {
		ids = append(ids, crmhub.Identifier{Type: crmhub.IdentityTelegram, Value: c.telegram})
	}
	return ids
}

// contactCreated draws the first value of contact i's stream, its creation
// time, which its id needs.
func (g *seedGen) contactCreated(r *rand.Rand) time.Time {
	return g.before(r, 30*24*time.Hour, 2*365*24*time.Hour)
}

func (g *seedGen) contactID(i int) uuid.UUID {
	id, _ := g.contactRef(i)
	return id
}

// contactRef returns contact i's id and creation time.
func (g *seedGen) contactRef(i int) (uuid.UUID, time.Time) {
	created := g.contactCreated(g.stream(streamContact, i))
	return g.id(streamContact, i), created
}

// seedIdentity is one identity of contact number contact.
type seedIdentity struct {
	value   string
	typ     crmhub.IdentityType
	contact int32
}

// identities returns every contact's identities sorted by match key.
func (g *seedGen) identities() []seedIdentity {
	out := make([]seedIdentity, 0, g.cfg.Contacts*5/2)
	for i := range g.cfg.Contacts {
		c := g.contact(i)
		for _, id := range c.identities() {
			out = append(out, seedIdentity{value: id.Value, typ: id.Type, contact: int32(i)})
		}
	}
	slices.SortFunc(out, func(a, b seedIdentity) int {
		if c := strings.Compare(a.typ.MatchClass(), b.typ.MatchClass()); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	return out
}

func (g *seedGen) contact(i int) seedContact {
	r := g.stream(streamContact, i)
	c := seedContact{created: g.contactCreated(r)}
	c.id = g.id(streamContact, i)
	c.updated = between(r, c.created, g.cfg.Epoch)
	first, last := pick(r, seedFirstNames), pick(r, seedLastNames)
	c.name = first + " " + last
	// Phone numbers and suffixes are permutations of the index: unique.
	national := (uint64(i)*g.phoneMul + g.phoneAdd) % 1e9
	c.phone = pick(r, seedPhonePrefixes) + fmt.Sprintf("%09d", national)
	c.phoneType = crmhub.IdentityPhone
	if r.Float64() < 0.6 {
		c.phoneType = crmhub.IdentityWhatsApp
	}
	suffix := strconv.FormatUint((uint64(i)*g.suffixMul+g.suffixAdd)%1e7, 10)
	lf, ll := strings.ToLower(first), strings.ToLower(last)
	c.email = lf + "." + ll + "." + suffix + "@" + pick(r, seedEmailDomains)
	if r.Float64() < 0.4 {
		c.telegram = lf + "_" + ll + suffix
	}
	n := r.IntN(4)
	perm := r.Perm(len(seedTagWords))
	for _, k := range perm[:n] {
		c.tags = append(c.tags, seedTagWords[k])
	}
	c.fields = fmt.Appendf(nil, `{"city": %q, "tier": %q}`, pick(r, seedCities), pick(r, seedTiers))
	c.user = g.userRef(r, 0.15)
	return c
}

type seedDeal struct {
	id               uuid.UUID
	name             string
	status           string
	amount           float64
	currency, stage  string
	user             *uuid.UUID
	created, updated time.Time
	closed           *time.Time
	contacts         []uuid.UUID
}

func (g *seedGen) deal(i int) seedDeal {
	r := g.stream(streamDeal, i)
	d := seedDeal{created: g.before(r, 0, 365*24*time.Hour)}
	d.id = g.id(streamDeal, i)
	d.name = fmt.Sprintf("%s #%d", pick(r, seedProducts), i+1)
	d.amount = float64(10+r.IntN(5000)) * 100
	d.currency = pick(r, []string{"RUB", "RUB", "RUB", "USD", "EUR"})
	d.user = g.userRef(r, 0.1)
	switch p := r.Float64(); {
	case p < 0.6:
		d.status, d.stage = string(crmhub.DealOpen), pick(r, []string{"new", "qualified", "proposal", "negotiation"})
		d.updated = between(r, d.created, g.cfg.Epoch)
	default:
		d.status, d.stage = string(crmhub.DealWon), "won"
		if p >= 0.85 {
			d.status, d.stage = string(crmhub.DealLost), "lost"
		}
		closed := between(r, d.created, g.cfg.Epoch)
		d.closed, d.updated = &closed, closed
	}
	// The contacts' ids come last: computing one moves the generator to
	// the contact's stream.
	linked := []int{r.IntN(g.cfg.Contacts)}
	if g.cfg.Contacts > 1 && r.Float64() < 0.4 {
		linked = append(linked, (linked[0]+1+r.IntN(g.cfg.Contacts-1))%g.cfg.Contacts)
	}
	for _, c := range linked {
		d.contacts = append(d.contacts, g.contactID(c))
	}
	return d
}

type seedMessage struct {
	id        uuid.UUID
	direction crmhub.Direction
	text      string
	status    crmhub.MessageStatus
	at        time.Time
}

type seedConversation struct {
	id                       uuid.UUID
	contact                  uuid.UUID
	channel, chatID, status  string
	assignee                 *uuid.UUID
	lastMessage, lastInbound *time.Time
	unanswered               bool
	created, updated         time.Time
	messages                 []seedMessage
}

// conversation j belongs to contact perm(j mod contacts); its round
// j / contacts picks the channel (each round of a contact another one),
// and a round past the contact's channels is CLOSED, so no contact has two
// live conversations on one chat.
func (g *seedGen) conversation(j int) seedConversation {
	n := g.cfg.Contacts
	ci := int((uint64(j%n)*g.convMul + g.convAdd) % uint64(n))
	round := j / n
	c := g.contact(ci)
	type chat struct{ channel, id string }
	chats := []chat{{string(crmhub.ChannelWhatsApp), c.phone}, {string(crmhub.ChannelEmail), c.email},
		{string(crmhub.ChannelSMS), c.phone}}
	if c.telegram != "" {
		chats = append(chats, chat{string(crmhub.ChannelTelegram), c.telegram})
	}
	// Each contact's first channel is WhatsApp for 70 in 100 contacts; its
	// later rounds take the next channels in turn.
	first := 0
	if p := mix64(g.cfg.Seed^uint64(ci)) % 100; p >= 70 {
		first = 1 + int(p)%(len(chats)-1)
	}
	ch := chats[(first+round)%len(chats)]

	r := g.stream(streamConversation, j)
	cv := seedConversation{contact: c.id, channel: ch.channel, chatID: ch.id, assignee: g.userRef(r, 0.1)}
	switch p := r.Float64(); {
	case round >= len(chats) || p < 0.2:
		cv.status = string(crmhub.ConversationClosed)
	case p < 0.3:
		cv.status = string(crmhub.ConversationPending)
	default:
		cv.status = string(crmhub.ConversationOpen)
	}
	// Messages alternate; three in four conversations start inbound. Replies
	// come within two hours, the contact's next message within two days.
	m := g.cfg.MessagesPerConversation
	dir := crmhub.Inbound
	if r.Float64() >= 0.75 {
		dir = crmhub.Outbound
	}
	offsets := make([]time.Duration, m)
	var span time.Duration
	for k := 1; k < m; k++ {
		if (k%2 == 1) == (dir == crmhub.Inbound) { // message k is outbound
			span += time.Minute + time.Duration(r.Int64N(int64(2*time.Hour)))
		} else {
			span += 5*time.Minute + time.Duration(r.Int64N(int64(48*time.Hour)))
		}
		offsets[k] = span
	}
	latest := g.cfg.Epoch.Add(-span)
	cv.created = latest
	if latest.After(c.created) {
		u := r.Float64()
		cv.created = latest.Add(-time.Duration(float64(latest.Sub(c.created)) * u * u * u))
	}
	cv.created = cv.created.Truncate(time.Microsecond)
	cv.updated = cv.created
	cv.id = g.id(streamConversation, j)
	cv.messages = make([]seedMessage, m)
	for k := range m {
		at := cv.created.Add(offsets[k])
		msg := &cv.messages[k]
		*msg = seedMessage{direction: dir, at: at, id: g.id(streamMessage, j*MaxSeedMessagesPerConversation+k)}
		if dir == crmhub.Inbound {
			msg.text, msg.status = pick(r, seedInboundTexts), crmhub.MessageDelivered
			cv.lastInbound = &msg.at
		} else {
			msg.text, msg.status = pick(r, seedOutboundTexts), crmhub.MessageRead
			if p := r.Float64(); p < 0.05 {
				msg.status = crmhub.MessageSent
			} else if p < 0.2 {
				msg.status = crmhub.MessageDelivered
			}
		}
		cv.lastMessage, cv.updated = &msg.at, at
		cv.unanswered = dir == crmhub.Inbound
		if dir == crmhub.Inbound {
			dir = crmhub.Outbound
		} else {
			dir = crmhub.Inbound
		}
	}
	return cv
}

// The vocabularies of the generated content. Emails use domains reserved
// for examples (RFC 2606); phone prefixes are mobile ranges of Russia,
// Kazakhstan and the UK, completed by nine digits.
var (
	seedFirstNames = []string{"Anna", "Ivan", "Maria", "Dmitry", "Olga", "Sergey", "Elena", "Alexey", "Natalia", "Pavel",
		"Irina", "Mikhail", "Tatiana", "Andrey", "Svetlana", "Nikolai", "Ekaterina", "Artem", "Yulia", "Oleg",
		"Aigerim", "Nursultan", "Emma", "Oliver", "Sophie", "James", "Amelia", "Liam", "Mia", "Noah"}
	seedLastNames = []string{"Ivanova", "Petrov", "Smirnova", "Kuznetsov", "Popova", "Sokolov", "Lebedeva", "Kozlov",
		"Novikova", "Morozov", "Volkova", "Solovyov", "Vasilieva", "Zaitsev", "Pavlova", "Semenov", "Golubeva",
		"Vinogradov", "Bogdanova", "Fedorov", "Akhmetova", "Nurlanov", "Smith", "Jones", "Taylor", "Brown",
		"Wilson", "Evans", "Thomas", "Roberts"}
	seedPhonePrefixes = []string{"+79", "+79", "+79", "+79", "+77", "+447"}
	seedEmailDomains  = []string{"example.com", "example.org", "example.net", "mail.example.com", "inbox.example.org"}
	seedTagWords      = []string{"vip", "lead", "customer", "newsletter", "wholesale", "partner", "churn-risk", "b2b"}
	seedCities        = []string{"Moscow", "Saint Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg", "Almaty",
		"Astana", "London", "Manchester", "Sochi"}
	seedTiers    = []string{"bronze", "bronze", "bronze", "silver", "silver", "gold"}
	seedProducts = []string{"Starter plan", "Business plan", "Enterprise plan", "Onboarding", "Annual renewal",
		"Wholesale order", "Consulting", "Support package"}
	seedInboundTexts = []string{"Hello! Is this still available?", "What is the price?", "Can I get a discount?",
		"When will my order arrive?", "Thanks!", "Do you deliver to my city?", "I'd like to book a call.",
		"Could you send the invoice?", "Is there a warranty?", "OK, let's do it."}
	seedOutboundTexts = []string{"Hi! Yes, it is.", "The price is in the attached offer.", "Your order ships tomorrow.",
		"You're welcome!", "We deliver everywhere in the country.", "Sure, what time suits you?",
		"The invoice is on its way.", "Yes, one year.", "Great, I'll prepare the contract.", "Let me check and come back to you."}
)
