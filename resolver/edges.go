package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// Reads of the edges between deals, users, conversations and messages. All
// go through groups (see loaders): a page or list registers its objects with
// addGroup, and the first resolver of a nested field reads for all of them
// in one call. An object outside any group is read alone.

const (
	readConsents readKind = iota + 100
	readSuppressions
	readDealContacts
)

// refKey names a reference read: the field that holds the reference.
type refKey string

// pageArgs names a paged child read within a group.
type pageArgs struct {
	kind  string
	first int
	after string
}

// loadRef follows the reference ref(parent) (a user, a contact, a
// conversation id the parent holds), reading the referenced objects of the
// parent's whole group at once.
func loadRef[P any, V any](ctx context.Context, l *loaders, parent *P, ref func(*P) *uuid.UUID, key refKey,
	get func(context.Context, []uuid.UUID) ([]*V, error)) (*V, error) {
	list, err := loadRefs(ctx, l, parent, func(p *P) []uuid.UUID {
		if id := ref(p); id != nil {
			return []uuid.UUID{*id}
		}
		return nil
	}, key, get)
	if len(list) == 0 {
		return nil, err
	}
	return list[0], err
}

// loadRefs follows the references refs(parent) holds (the contacts of a
// conflict), reading the referenced objects of the parent's whole group at
// once. It returns those that exist, in the order of the references.
func loadRefs[P any, V any](ctx context.Context, l *loaders, parent *P, refs func(*P) []uuid.UUID, key refKey,
	get func(context.Context, []uuid.UUID) ([]*V, error)) ([]*V, error) {
	mine := refs(parent)
	if len(mine) == 0 {
		return nil, nil
	}
	g := l.pageOf(parent)
	fetch := func() (any, error) {
		ids := mine
		if g != nil {
			ids = nil
			for _, it := range g.items {
				if p, ok := it.(*P); ok {
					ids = append(ids, refs(p)...)
				}
			}
		}
		ids = unique(ids)
		list, err := get(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]*V, len(ids))
		for i, v := range list {
			if i < len(ids) && v != nil {
				out[ids[i]] = v
			}
		}
		return out, nil
	}
	var got any
	var err error
	if g == nil {
		got, err = fetch()
	} else {
		got, err = g.read(key, fetch)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*V, 0, len(mine))
	for _, id := range mine {
		if v := got.(map[uuid.UUID]*V)[id]; v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// pagesOf adapts a per-parent page read to the shape load takes, for one
// pair of page arguments.
func pagesOf[C any](get func(context.Context, []crmhub.PageKey) (map[crmhub.PageKey]*C, error), first int, after string) func(context.Context, []uuid.UUID) (map[uuid.UUID]*C, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*C, error) {
		keys := make([]crmhub.PageKey, len(ids))
		for i, id := range ids {
			keys[i] = crmhub.PageKey{ParentID: id, First: first, After: after}
		}
		got, err := get(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]*C, len(got))
		for k, v := range got {
			out[k.ParentID] = v
		}
		return out, nil
	}
}

// childrenGrouped wraps the read of a nested edge so that the children it
// finds for all parents of a group form one group in turn: their own nested
// fields (a conversation's messages, a message's replyTo) are then read once
// for all of them, not once per parent.
func childrenGrouped[V any, N any](fetch func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error),
	children func(V) []*N, add func([]*N)) func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]V, error) {
		got, err := fetch(ctx, ids)
		if err != nil {
			return nil, err
		}
		var all []*N
		for _, id := range ids {
			if v, ok := got[id]; ok {
				all = append(all, children(v)...)
			}
		}
		add(all)
		return got, nil
	}
}

func dealNodes(c *crmhub.DealConnection) []*crmhub.Deal {
	return nodes(c.Edges, func(e *crmhub.DealEdge) *crmhub.Deal { return e.Node })
}

func conversationNodes(c *crmhub.ConversationConnection) []*crmhub.Conversation {
	return nodes(c.Edges, func(e *crmhub.ConversationEdge) *crmhub.Conversation { return e.Node })
}

func messageNodes(c *crmhub.MessageConnection) []*crmhub.Message {
	return nodes(c.Edges, func(e *crmhub.MessageEdge) *crmhub.Message { return e.Node })
}

func same[T any](v T) T { return v }

// Groups of each kind of object.

func (l *loaders) addDeals(ds []*crmhub.Deal) {
	addGroup(l, ds, func(d *crmhub.Deal) uuid.UUID { return d.ID })
}

func (l *loaders) addConversations(cs []*crmhub.Conversation) {
	addGroup(l, cs, func(c *crmhub.Conversation) uuid.UUID { return c.ID })
}

func (l *loaders) addMessages(ms []*crmhub.Message) {
	addGroup(l, ms, func(m *crmhub.Message) uuid.UUID { return m.ID })
}

func (l *loaders) addSuppressions(ss []*crmhub.Suppression) {
	addGroup(l, ss, func(s *crmhub.Suppression) uuid.UUID { return s.ID })
}

// contactsGrouped reads contacts by id (in the order of ids, nil where
// missing) and makes them one group, so that their own fields are read
// once for all of them.
func (l *loaders) contactsGrouped(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Contact, error) {
	list, err := l.r.Contacts.ContactsByIDs(ctx, ids)
	if err == nil {
		l.addPage(list)
	}
	return list, err
}

func nodes[E any, N any](edges []*E, node func(*E) *N) []*N {
	out := make([]*N, len(edges))
	for i, e := range edges {
		out[i] = node(e)
	}
	return out
}
