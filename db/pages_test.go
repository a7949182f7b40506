package db_test

import (
	"slices"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

// TestPagesByParent: one batched read of the messages of many
// conversations (and of the conversations of many contacts) gives each
// parent its own newest rows, cut at first with hasNextPage, and its own
// next page after its cursor, the same as the parent's whole list read
// alone.
func TestPagesByParent(t *testing.T) {
	d := dbtest.Open(t, nil)
	ctx, _, _ := seeded(t, d, db.SeedConfig{Contacts: 20, Conversations: 50, MessagesPerConversation: 7, Users: 2, Seed: 3})
	svc := db.NewConversationService(d, nil)
	all, err := svc.Conversations(ctx, crmhub.ConversationFilter{}, 100, "")
	if err != nil || len(all.Edges) != 50 {
		t.Fatalf("%d conversations, %v", len(all.Edges), err)
	}
	var convs, contacts []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, e := range all.Edges {
		convs = append(convs, e.Node.ID)
		if !seen[e.Node.ContactID] {
			seen[e.Node.ContactID] = true
			contacts = append(contacts, e.Node.ContactID)
		}
	}
	keys := func(ids []uuid.UUID, first int, after map[uuid.UUID]string) []crmhub.PageKey {
		out := make([]crmhub.PageKey, len(ids))
		for i, id := range ids {
			out[i] = crmhub.PageKey{ParentID: id, First: first, After: after[id]}
		}
		return out
	}
	type page struct {
		ids     []uuid.UUID
		next    bool
		cursor  string
		parents []uuid.UUID
	}
	messages := func(first int, after map[uuid.UUID]string) map[uuid.UUID]page {
		out := map[uuid.UUID]page{}
		for _, id := range convs { // after is per parent: one key each
			ks := keys([]uuid.UUID{id}, first, after)
			if after == nil {
				ks = keys(convs, first, nil) // the first pages: one batch for all
			}
			got, err := svc.MessagesByConversation(ctx, ks)
			if err != nil {
				t.Fatal(err)
			}
			for k, c := range got {
				p := page{next: c.PageInfo.HasNextPage}
				for _, e := range c.Edges {
					p.ids = append(p.ids, e.Node.ID)
					p.parents = append(p.parents, e.Node.ConversationID)
					p.cursor = e.Cursor
				}
				out[k.ParentID] = p
			}
		}
		return out
	}
	whole, first, after := messages(100, nil), messages(3, nil), map[uuid.UUID]string{}
	for _, id := range convs {
		w, f := whole[id], first[id]
		if len(w.ids) != 7 || w.next || len(f.ids) != 3 || !f.next || !slices.Equal(f.ids, w.ids[:3]) {
			t.Fatalf("conversation %s: whole %v (next %v), first 3 %v (next %v)", id, w.ids, w.next, f.ids, f.next)
		}
		for _, p := range f.parents {
			if p != id {
				t.Fatalf("conversation %s got a message of %s", id, p)
			}
		}
		after[id] = f.cursor
	}
	second := messages(3, after)
	for _, id := range convs {
		if s := second[id]; !slices.Equal(s.ids, whole[id].ids[3:6]) || !s.next {
			t.Fatalf("conversation %s: after the first 3, %v (next %v), want %v", id, s.ids, s.next, whole[id].ids[3:6])
		}
	}

	// Contacts with several conversations, most recent activity first.
	one, err := svc.ConversationsByContact(ctx, keys(contacts, 1, nil))
	if err != nil {
		t.Fatal(err)
	}
	wholeByContact, err := svc.ConversationsByContact(ctx, keys(contacts, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contacts {
		w, o := wholeByContact[crmhub.PageKey{ParentID: c, First: 100}], one[crmhub.PageKey{ParentID: c, First: 1}]
		if len(w.Edges) < 2 || len(o.Edges) != 1 || !o.PageInfo.HasNextPage || o.Edges[0].Node.ID != w.Edges[0].Node.ID {
			t.Fatalf("contact %s: %d conversations, first of one page %+v", c, len(w.Edges), o.Edges)
		}
		for i := 1; i < len(w.Edges); i++ {
			if activityOf(w.Edges[i].Node).After(activityOf(w.Edges[i-1].Node)) {
				t.Fatalf("contact %s: conversations not most recent first", c)
			}
		}
	}
}

// activityOf is the time conversations are ordered by.
func activityOf(c *crmhub.Conversation) time.Time {
	if c.LastMessageAt != nil {
		return *c.LastMessageAt
	}
	return c.CreatedAt
}
