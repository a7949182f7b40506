package resolver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/graph-gophers/dataloader/v7"
)

// Batching: graph-gophers/dataloader waits 16 ms by default before each
// batch, and every nested level of a query pays it again. A wait far under a
// millisecond gathers the loads that resolvers of one level make at nearly
// the same time.
const (
	loaderWait     = 200 * time.Microsecond
	loaderCapacity = 500
)

// loaders batch the reads that nested Contact and Note fields make, so that
// a page of N contacts costs one statement per field rather than N.
//
// Two mechanisms share the work:
//
//   - Contacts that came in one connection page form a group. The first
//     field resolver of the group to ask for, say, tags fetches the tags of
//     every contact of the page in one call; its siblings wait for that call
//     and take their share. This does not depend on timing: gqlgen starts
//     the sibling resolvers as goroutines, and on a busy machine a hundred
//     of them do not all reach a time-window loader within its window.
//   - Any other contact (from contact(id), node, a mutation, a note) goes
//     through a graph-gophers dataloader with a short window, which still
//     merges aliases and lists resolved side by side.
//
// A set is made per GraphQL operation (also per websocket operation) by
// loaderMiddleware and never outlives it: nothing read for one principal can
// be served to another, and a long-lived socket never sees stale data. The
// dataloaders keep no cache even within the operation, because a mutation
// operation runs its root fields in order and a later field must see the
// earlier writes.
type loaders struct {
	s crmhub.ContactService
	// The dataloaders are made on first use: most operations (every
	// subscription, which holds its set for as long as it lives) use none.
	identitiesOnce sync.Once
	identitiesL    *dataloader.Loader[uuid.UUID, []*crmhub.Identity]
	tagsOnce       sync.Once
	tagsL          *dataloader.Loader[uuid.UUID, []string]
	notesOnce      sync.Once
	notesL         *dataloader.Loader[crmhub.NotesKey, *crmhub.NoteConnection]
	contactsOnce   sync.Once
	contactsL      *dataloader.Loader[uuid.UUID, *crmhub.Contact]

	// r reaches the other services for the reads of deals, users,
	// conversations and messages, which always go through groups.
	r *Resolver

	mu    sync.Mutex
	pages map[any]*pageGroup // by parent pointer (*crmhub.Contact, *crmhub.Deal, ...); made on first use
}

func newLoaders(r *Resolver) *loaders {
	return &loaders{r: r, s: r.Contacts}
}

func (l *loaders) identities() *dataloader.Loader[uuid.UUID, []*crmhub.Identity] {
	l.identitiesOnce.Do(func() { l.identitiesL = newLoader(l.s.IdentitiesByContact) })
	return l.identitiesL
}

func (l *loaders) tags() *dataloader.Loader[uuid.UUID, []string] {
	l.tagsOnce.Do(func() { l.tagsL = newLoader(l.s.TagsByContact) })
	return l.tagsL
}

func (l *loaders) notes() *dataloader.Loader[crmhub.NotesKey, *crmhub.NoteConnection] {
	l.notesOnce.Do(func() { l.notesL = newLoader(l.s.NotesByContact) })
	return l.notesL
}

func (l *loaders) contacts() *dataloader.Loader[uuid.UUID, *crmhub.Contact] {
	l.contactsOnce.Do(func() { l.contactsL = newLoader(contactsByID(l.s)) })
	return l.contactsL
}

// newLoader wraps a batch read that returns a map keyed like its input into
// a loader that answers in key order; missing keys get the zero value.
func newLoader[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error)) *dataloader.Loader[K, V] {
	batch := func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		got, err := fetch(ctx, unique(keys))
		out := make([]*dataloader.Result[V], len(keys))
		for i, k := range keys {
			if err != nil {
				out[i] = &dataloader.Result[V]{Error: err}
			} else {
				out[i] = &dataloader.Result[V]{Data: got[k]}
			}
		}
		return out
	}
	return dataloader.NewBatchedLoader(batch,
		dataloader.WithWait[K, V](loaderWait),
		dataloader.WithBatchCapacity[K, V](loaderCapacity),
		dataloader.WithCache[K, V](&dataloader.NoCache[K, V]{}))
}

// contactsByID adapts ContactsByIDs, which answers in the order of its
// input, to the map shape newLoader takes.
func contactsByID(s crmhub.ContactService) func(context.Context, []uuid.UUID) (map[uuid.UUID]*crmhub.Contact, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*crmhub.Contact, error) {
		list, err := s.ContactsByIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]*crmhub.Contact, len(ids))
		for i, c := range list {
			if i < len(ids) && c != nil {
				out[ids[i]] = c
			}
		}
		return out, nil
	}
}

func unique[K comparable](keys []K) []K {
	seen := make(map[K]bool, len(keys))
	out := make([]K, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// pageGroup is the contacts of one connection page. Each kind of read
// (identities, tags, notes with given arguments) runs once for all of them.
type pageGroup struct {
	ids   []uuid.UUID
	items []any // the objects, for reads that follow a reference they hold
	mu    sync.Mutex
	reads map[any]*groupRead
}

var errBatchFailed = errors.New("resolver: batched read failed")

type groupRead struct {
	once sync.Once
	got  any // map[uuid.UUID]V
	err  error
}

// addPage makes the contacts of a page one group.
func (l *loaders) addPage(contacts []*crmhub.Contact) {
	addGroup(l, contacts, func(c *crmhub.Contact) uuid.UUID { return c.ID })
}

// addGroup makes objects returned together (a page, a list field) one
// group, so that each nested field is read once for all of them.
func addGroup[P any](l *loaders, items []*P, id func(*P) uuid.UUID) {
	g := &pageGroup{ids: make([]uuid.UUID, 0, len(items)), reads: map[any]*groupRead{}}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pages == nil {
		l.pages = map[any]*pageGroup{}
	}
	for _, it := range items {
		if it != nil {
			g.ids = append(g.ids, id(it))
			g.items = append(g.items, it)
			l.pages[it] = g
		}
	}
	g.ids = unique(g.ids)
}

func (l *loaders) pageOf(parent any) *pageGroup {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pages[parent]
}

// load returns what fetch finds for the object parent (whose id is id):
// through its group when it has one, through single otherwise. key names
// the kind of read within the group.
func load[V any](ctx context.Context, l *loaders, parent any, id uuid.UUID, key any,
	fetch func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error), single func() (V, error)) (V, error) {
	g := l.pageOf(parent)
	if g == nil {
		return single()
	}
	got, err := g.read(key, func() (any, error) { return fetch(ctx, g.ids) })
	if err != nil {
		var zero V
		return zero, err
	}
	return got.(map[uuid.UUID]V)[id], nil
}

// read runs fetch the first time the group reads key, and gives its
// answer to that caller and every later one.
func (g *pageGroup) read(key any, fetch func() (any, error)) (any, error) {
	g.mu.Lock()
	r := g.reads[key]
	if r == nil {
		r = &groupRead{}
		g.reads[key] = r
	}
	g.mu.Unlock()
	r.once.Do(func() {
		// Should fetch panic (gqlgen reports that resolver as INTERNAL),
		// the siblings waiting on it get this error instead of nothing.
		r.err = errBatchFailed
		r.got, r.err = fetch()
	})
	return r.got, r.err
}

// loadOne is load for reads without a dataloader: an object outside any
// group is read on its own.
func loadOne[V any](ctx context.Context, l *loaders, parent any, id uuid.UUID, key any,
	fetch func(context.Context, []uuid.UUID) (map[uuid.UUID]V, error)) (V, error) {
	return load(ctx, l, parent, id, key, fetch, func() (V, error) {
		m, err := fetch(ctx, []uuid.UUID{id})
		return m[id], err
	})
}

// Reads by field.

type readKind int

const (
	readIdentities readKind = iota
	readTags
)

// identitiesAhead is implemented by a ContactService that keeps the
// identities it read with their contacts for the rest of the operation.
type identitiesAhead interface {
	IdentitiesAhead(ctx context.Context, id uuid.UUID) ([]*crmhub.Identity, bool)
}

func (l *loaders) identitiesOf(ctx context.Context, c *crmhub.Contact) ([]*crmhub.Identity, error) {
	return load(ctx, l, c, c.ID, readIdentities, l.s.IdentitiesByContact,
		func() ([]*crmhub.Identity, error) {
			// A contact read on its own usually came with its identities:
			// answering from them skips the dataloader's goroutine and
			// its window (a point read's email and identities waited
			// 200 µs for a batch that needed no statement).
			if a, ok := l.s.(identitiesAhead); ok {
				if ids, ok := a.IdentitiesAhead(ctx, c.ID); ok {
					return ids, nil
				}
			}
			return l.identities().Load(ctx, c.ID)()
		})
}

func (l *loaders) tagsOf(ctx context.Context, c *crmhub.Contact) ([]string, error) {
	return load(ctx, l, c, c.ID, readTags, l.s.TagsByContact,
		func() ([]string, error) { return l.tags().Load(ctx, c.ID)() })
}

// notesOf reads one page of c's notes; key carries the page arguments.
func (l *loaders) notesOf(ctx context.Context, c *crmhub.Contact, key crmhub.NotesKey) (*crmhub.NoteConnection, error) {
	fetch := func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*crmhub.NoteConnection, error) {
		keys := make([]crmhub.NotesKey, len(ids))
		for i, id := range ids {
			keys[i] = crmhub.NotesKey{ContactID: id, First: key.First, After: key.After}
		}
		got, err := l.s.NotesByContact(ctx, keys)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]*crmhub.NoteConnection, len(got))
		for k, v := range got {
			out[k.ContactID] = v
		}
		return out, nil
	}
	key.ContactID = c.ID
	args := crmhub.NotesKey{First: key.First, After: key.After}
	return load(ctx, l, c, c.ID, args, fetch,
		func() (*crmhub.NoteConnection, error) { return l.notes().Load(ctx, key)() })
}

type loadersKey struct{}

// loaderMiddleware gives each operation its own loaders.
func loaderMiddleware(r *Resolver) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(context.WithValue(ctx, loadersKey{}, newLoaders(r)))
	}
}

// loadersFor returns the operation's loaders. Outside an operation made by
// NewHandler (a resolver called directly) it returns a fresh set, which is
// correct, only unbatched.
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r)
}
