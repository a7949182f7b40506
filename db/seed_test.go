package db_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// smallSeed is the dataset the seed tests make.
var smallSeed = db.SeedConfig{Contacts: 300, Deals: 50, Conversations: 40, MessagesPerConversation: 5, Users: 10, Seed: 7}

// seeded makes a workspace and seeds it with cfg.
func seeded(t *testing.T, d *db.DB, cfg db.SeedConfig) (context.Context, *crmhub.Workspace, db.SeedStats) {
	t.Helper()
	ctx, ws, _ := dbtest.Workspace(t, d)
	stats, err := db.Seed(t.Context(), d, ws.ID, cfg)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return ctx, ws, stats
}

// allContacts reads every contact of the workspace through the service.
func allContacts(t *testing.T, ctx context.Context, svc *db.ContactService) []*crmhub.Contact {
	t.Helper()
	out, _ := allPages(t, func(after string) ([]*crmhub.Contact, crmhub.PageInfo, error) {
		page, err := svc.Contacts(ctx, crmhub.ContactFilter{}, crmhub.ContactOrder{}, 100, after)
		if err != nil {
			return nil, crmhub.PageInfo{}, err
		}
		nodes := make([]*crmhub.Contact, len(page.Edges))
		for i, e := range page.Edges {
			nodes[i] = e.Node
		}
		return nodes, page.PageInfo, nil
	})
	return out
}

// identitiesAndTags loads the identities and tags of contacts as the
// GraphQL loaders do.
func identitiesAndTags(t *testing.T, ctx context.Context, svc *db.ContactService, cs []*crmhub.Contact) (
	map[uuid.UUID][]*crmhub.Identity, map[uuid.UUID][]string) {
	t.Helper()
	idents, err := svc.IdentitiesByContact(ctx, contactIDs(cs))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := svc.TagsByContact(ctx, contactIDs(cs))
	if err != nil {
		t.Fatal(err)
	}
	return idents, tags
}

func contactIDs(cs []*crmhub.Contact) []uuid.UUID {
	ids := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func TestSeed(t *testing.T) {
	t.Parallel()
	d := dbtest.OpenOwner(t, nil) // the seed analyzes as the owner, as `crmhub seed` runs
	ctx, ws, _ := dbtest.Workspace(t, d)
	eventsBefore := countAllEvents(t, d, ws.ID)
	stats, err := db.Seed(t.Context(), d, ws.ID, smallSeed)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Users != 10 || stats.Contacts != 300 || stats.Deals != 50 || stats.Conversations != 40 || stats.Messages != 200 ||
		stats.Identities < 600 || stats.Identities > 900 || stats.DealContacts < 50 || stats.DealContacts > 100 ||
		stats.Tags > 900 || stats.Duration <= 0 {
		t.Errorf("stats = %+v", stats)
	}
	if n := countAllEvents(t, d, ws.ID); n != eventsBefore {
		t.Errorf("seeding wrote %d events, want none", n-eventsBefore)
	}
	// The planner has statistics of what was loaded, and the pool's
	// connections are still the service role afterwards.
	var analyzed bool
	var role string
	if err := d.Pool.QueryRow(t.Context(), `SELECT last_analyze IS NOT NULL, current_user FROM pg_stat_user_tables
		WHERE relname = 'messages'`).Scan(&analyzed, &role); err != nil || !analyzed || role != db.AppRole {
		t.Errorf("after the seed: messages analyzed %v, role %q, err %v", analyzed, role, err)
	}

	contacts := db.NewContactService(d)
	users := db.NewUserService(d)
	deals := db.NewDealService(d)
	convs := db.NewConversationService(d, nil)
	for name, count := range map[string]func() (int, error){
		"users":         func() (int, error) { return users.CountUsers(ctx) },
		"contacts":      func() (int, error) { return contacts.CountContacts(ctx, crmhub.ContactFilter{}) },
		"deals":         func() (int, error) { return deals.CountDeals(ctx, crmhub.DealFilter{}) },
		"conversations": func() (int, error) { return convs.CountConversations(ctx, crmhub.ConversationFilter{}) },
	} {
		n, err := count()
		want := map[string]int{"users": 10, "contacts": 300, "deals": 50, "conversations": 40}[name]
		if err != nil || n != want {
			t.Errorf("count %s = %d, %v; want %d", name, n, err, want)
		}
	}

	// Contacts: a phone and an email each, sometimes a Telegram username,
	// all stored normalized; tags from the vocabulary; custom fields; a
	// responsible user that exists.
	all := allContacts(t, ctx, contacts)
	byID := map[uuid.UUID]*crmhub.Contact{}
	for _, c := range all {
		byID[c.ID] = c
	}
	idents, tags := identitiesAndTags(t, ctx, contacts, all)
	phones := map[uuid.UUID]string{}
	emails := map[uuid.UUID]string{}
	telegrams := map[uuid.UUID]string{}
	for _, c := range all {
		if c.Name == nil || !strings.Contains(*c.Name, " ") || c.CustomFields["city"] == nil || c.CustomFields["tier"] == nil {
			t.Fatalf("contact %+v lacks a name, city or tier", c)
		}
		if c.ResponsibleUserID != nil {
			if _, err := users.User(ctx, *c.ResponsibleUserID); err != nil {
				t.Fatalf("responsible user of %s: %v", c.GlobalID(), err)
			}
		}
		if n := len(idents[c.ID]); n < 2 || n > 3 {
			t.Fatalf("contact %s has %d identities", c.GlobalID(), n)
		}
		for _, id := range idents[c.ID] {
			norm, err := crmhub.Identifier{Type: id.Type, Value: id.Value}.Normalize()
			if err != nil || norm.Value != id.Value {
				t.Fatalf("identity %s %q is not stored normalized (%q, %v)", id.Type, id.Value, norm.Value, err)
			}
			switch id.Type {
			case crmhub.IdentityPhone, crmhub.IdentityWhatsApp:
				phones[c.ID] = id.Value
			case crmhub.IdentityEmail:
				emails[c.ID] = id.Value
			case crmhub.IdentityTelegram:
				telegrams[c.ID] = id.Value
			default:
				t.Fatalf("unexpected identity type %s", id.Type)
			}
		}
		if phones[c.ID] == "" || emails[c.ID] == "" {
			t.Fatalf("contact %s lacks a phone or an email: %v", c.GlobalID(), idents[c.ID])
		}
		if len(tags[c.ID]) > 3 {
			t.Fatalf("contact %s has tags %v", c.GlobalID(), tags[c.ID])
		}
	}

	// A contact resolves by its seeded phone, written as a WhatsApp id would be.
	probe := all[len(all)/2]
	got, err := contacts.ResolveContact(ctx, []crmhub.Identifier{{Type: crmhub.IdentityWAID, Value: strings.TrimPrefix(phones[probe.ID], "+")}})
	if err != nil || got.ID != probe.ID {
		t.Fatalf("resolve by %s: %v, %v; want %s", phones[probe.ID], got, err, probe.GlobalID())
	}
	got, err = contacts.ResolveContact(ctx, []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: strings.ToUpper(emails[probe.ID])}})
	if err != nil || got.ID != probe.ID {
		t.Fatalf("resolve by %s: %v, %v; want %s", emails[probe.ID], got, err, probe.GlobalID())
	}

	// Deals link one or two seeded contacts; closed deals have closedAt.
	dealPage, err := deals.Deals(ctx, crmhub.DealFilter{}, 100, "")
	if err != nil || len(dealPage.Edges) != 50 {
		t.Fatalf("deals: %d, %v", len(dealPage.Edges), err)
	}
	var dealIDs []uuid.UUID
	for _, e := range dealPage.Edges {
		dealIDs = append(dealIDs, e.Node.ID)
		if e.Node.Closed() != (e.Node.ClosedAt != nil) || e.Node.ResponsibleUserID != nil && e.Node.CreatedAt.IsZero() {
			t.Errorf("deal %+v: status and closedAt disagree", e.Node)
		}
	}
	links, err := deals.ContactIDsByDeal(ctx, dealIDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range dealIDs {
		if n := len(links[id]); n < 1 || n > 2 {
			t.Fatalf("deal %s links %d contacts", id, n)
		}
		for _, c := range links[id] {
			if byID[c] == nil {
				t.Fatalf("deal %s links unknown contact %s", id, c)
			}
		}
	}
	if byContact, err := deals.CountDeals(ctx, crmhub.DealFilter{ContactID: &links[dealIDs[0]][0]}); err != nil || byContact < 1 {
		t.Errorf("deals of a linked contact: %d, %v", byContact, err)
	}

	// Conversations list with their messages, which alternate, and whose
	// summary fields agree with them.
	convPage, err := convs.Conversations(ctx, crmhub.ConversationFilter{}, 100, "")
	if err != nil || len(convPage.Edges) != 40 {
		t.Fatalf("conversations: %d, %v", len(convPage.Edges), err)
	}
	var keys []crmhub.PageKey
	for _, e := range convPage.Edges {
		keys = append(keys, crmhub.PageKey{ParentID: e.Node.ID, First: 10})
	}
	msgs, err := convs.MessagesByConversation(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	unanswered := 0
	for i, e := range convPage.Edges {
		cv := e.Node
		page := msgs[keys[i]]
		if len(page.Edges) != 5 {
			t.Fatalf("conversation %s has %d messages", cv.GlobalID(), len(page.Edges))
		}
		want := map[crmhub.Channel]string{crmhub.ChannelWhatsApp: phones[cv.ContactID], crmhub.ChannelSMS: phones[cv.ContactID],
			crmhub.ChannelEmail: emails[cv.ContactID], crmhub.ChannelTelegram: telegrams[cv.ContactID]}[cv.Channel]
		if want == "" || cv.ChatID != want {
			t.Errorf("conversation %s on %s chat %q, want the contact's %q", cv.GlobalID(), cv.Channel, cv.ChatID, want)
		}
		newest := page.Edges[0].Node // newest first
		var lastIn *crmhub.Message
		for k, me := range page.Edges {
			m := me.Node
			if k > 0 && (m.Direction == page.Edges[k-1].Node.Direction || !m.CreatedAt.Before(page.Edges[k-1].Node.CreatedAt)) {
				t.Fatalf("conversation %s: messages do not alternate in time order", cv.GlobalID())
			}
			if m.Direction == crmhub.Inbound && lastIn == nil {
				lastIn = m
			}
			if m.Status == crmhub.MessageQueued || m.Type != crmhub.MessageText || m.Text == nil || m.CreatedAt.Before(cv.CreatedAt) {
				t.Fatalf("message %+v", m)
			}
		}
		if cv.LastMessageAt == nil || !cv.LastMessageAt.Equal(newest.CreatedAt) || cv.Unanswered != (newest.Direction == crmhub.Inbound) ||
			(lastIn == nil) != (cv.LastInboundAt == nil) || lastIn != nil && !cv.LastInboundAt.Equal(lastIn.CreatedAt) {
			t.Errorf("conversation %+v disagrees with its messages (newest %+v)", cv, newest)
		}
		if cv.Unanswered && cv.Status != crmhub.ConversationClosed {
			unanswered++
		}
	}
	if n, err := convs.UnansweredCount(ctx, nil); err != nil || n != unanswered {
		t.Errorf("UnansweredCount = %d, %v; want %d", n, err, unanswered)
	}
}

// digest sums what the seed made in a workspace, without ids: names,
// identities, tags and custom fields of every contact.
func digest(t *testing.T, d *db.DB, ctx context.Context) string {
	t.Helper()
	svc := db.NewContactService(d)
	all := allContacts(t, ctx, svc)
	idents, tags := identitiesAndTags(t, ctx, svc, all)
	lines := make([]string, len(all))
	for i, c := range all {
		var ids []string
		for _, id := range idents[c.ID] {
			ids = append(ids, string(id.Type)+":"+id.Value)
		}
		slices.Sort(ids)
		lines[i] = fmt.Sprintf("%s|%s|%v|%v|%v|%s", *c.Name, strings.Join(ids, ","), tags[c.ID], c.CustomFields,
			c.CreatedAt.UnixMicro(), c.UpdatedAt.UTC())
	}
	slices.Sort(lines)
	return fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(lines, "\n"))))
}

func TestSeedDeterministic(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, nil)
	cfg := smallSeed
	cfg.Deals, cfg.Conversations = 0, 0
	ctxA, wsA, _ := seeded(t, d, cfg)
	ctxB, wsB, _ := seeded(t, d, cfg)
	cfg.Seed++
	ctxC, _, _ := seeded(t, d, cfg)

	a, b, c := digest(t, d, ctxA), digest(t, d, ctxB), digest(t, d, ctxC)
	if a != b {
		t.Errorf("the same seed made different data: %s and %s", a, b)
	}
	if a == c {
		t.Errorf("seeds %d and %d made the same data", cfg.Seed-1, cfg.Seed)
	}
	// Ids are reproducible per workspace but not shared between workspaces.
	idsA := contactIDs(allContacts(t, ctxA, db.NewContactService(d)))
	idsB := contactIDs(allContacts(t, ctxB, db.NewContactService(d)))
	if slices.ContainsFunc(idsA, func(id uuid.UUID) bool { return slices.Contains(idsB, id) }) {
		t.Errorf("workspaces %s and %s share contact ids", wsA.GlobalID(), wsB.GlobalID())
	}
	for _, id := range idsA[:5] {
		if id.Version() != 7 {
			t.Errorf("id %s is not a UUIDv7", id)
		}
	}
}

func TestSeedRefusals(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, nil)
	cfg := db.SeedConfig{Contacts: 20, Deals: 3, Conversations: 30, MessagesPerConversation: 2, Users: 2, Seed: 1}
	ctx, ws, _ := seeded(t, d, cfg)

	// A second seed into the same workspace changes nothing.
	_, err := db.Seed(t.Context(), d, ws.ID, cfg)
	if code := crmhub.ErrorCode(err); code != crmhub.ECONFLICT {
		t.Errorf("second seed: %v (code %q), want CONFLICT", err, code)
	}
	if n, err := db.NewContactService(d).CountContacts(ctx, crmhub.ContactFilter{}); err != nil || n != 20 {
		t.Errorf("contacts after the refused seed: %d, %v; want 20", n, err)
	}
	// More conversations than contacts: the extra rounds use other
	// channels or are closed, so every live conversation is one per chat.
	if n, err := db.NewConversationService(d, nil).CountConversations(ctx, crmhub.ConversationFilter{}); err != nil || n != 30 {
		t.Errorf("conversations: %d, %v; want 30", n, err)
	}

	_, err = db.Seed(t.Context(), d, uuid.New(), cfg)
	if code := crmhub.ErrorCode(err); code != crmhub.ENOTFOUND {
		t.Errorf("unknown workspace: %v (code %q), want NOT_FOUND", err, code)
	}
	for _, bad := range []db.SeedConfig{{Contacts: -1}, {Users: -5}, {MessagesPerConversation: -1},
		{Contacts: db.MaxSeedContacts + 1}, {Deals: 1}, {Conversations: 1}} {
		_, ws, _ := dbtest.Workspace(t, d)
		if _, err := db.Seed(t.Context(), d, ws.ID, bad); crmhub.ErrorCode(err) != crmhub.EINVALID {
			t.Errorf("seed %+v: %v, want INVALID", bad, err)
		}
	}
}
