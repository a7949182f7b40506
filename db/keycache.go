package db

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// keysChannel is the NOTIFY channel that announces a revoked API key
// ("workspace:key"), so that every instance drops it from its cache.
const keysChannel = "crmhub_api_keys"

// Bounds of the key cache.
const (
	// keyCacheTTL is how long a key read from the database is trusted
	// without reading it again. Revocation through the API does not wait
	// for it (NOTIFY drops the key everywhere at once); it bounds what a
	// change made behind the service's back, or a listener that hangs
	// without failing, can leave stale.
	keyCacheTTL = 10 * time.Second
	// keyCacheMax bounds the entries; past it the cache starts over.
	keyCacheMax = 10_000
)

// keyCache remembers API keys read from the database, so that most
// requests authenticate without a round trip. It is trusted only while the
// hub's listener is connected and LISTENing on keysChannel: notifications
// sent while it is away are lost, so the cache is emptied when the listener
// disconnects and again when it reconnects, and it serves nothing in
// between. Without a hub (CLI commands, a service built without one) it is
// never trusted. Only keys that exist are cached, never failed lookups, and
// the secret is checked against the cached hash on every request.
type keyCache struct {
	mu   sync.Mutex
	live bool   // the listener is LISTENing: revocations reach us
	gen  uint64 // bumped by every invalidation; see put
	keys map[keyRef]*cachedKey
	// revoked holds, per key, the channels WatchRevocation handed out;
	// drop closes them.
	revoked map[keyRef]map[chan struct{}]struct{}
	// notified is signalled after each notification is handled (tests).
	notified *TestSignal
}

type keyRef struct{ ws, id uuid.UUID }

// cachedKey is what authentication needs of a key row. It is never changed
// once cached: an invalidation removes it.
type cachedKey struct {
	hash     []byte
	scopes   []crmhub.Scope
	revoked  bool
	lastUsed time.Time // zero if never used
	loaded   time.Time // wall clock, for the TTL
}

// get returns the cached key if the cache may be trusted and the entry is
// fresh, and the generation to hand to put after a database read.
func (c *keyCache) get(ref keyRef) (*cachedKey, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		return nil, c.gen
	}
	k := c.keys[ref]
	if k != nil && time.Since(k.loaded) >= keyCacheTTL {
		delete(c.keys, ref)
		k = nil
	}
	return k, c.gen
}

// put caches k, read from the database after get returned gen. If anything
// was invalidated since (a revocation, the listener going down or coming
// back), the read may predate it and is not cached.
func (c *keyCache) put(ref keyRef, k *cachedKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen {
		return
	}
	if c.keys == nil || len(c.keys) >= keyCacheMax {
		c.keys = map[keyRef]*cachedKey{}
	}
	c.keys[ref] = k
}

// drop forgets one key (it was revoked here or elsewhere) and tells those
// watching it.
func (c *keyCache) drop(ref keyRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.keys, ref)
	for ch := range c.revoked[ref] {
		close(ch)
	}
	delete(c.revoked, ref)
}

// watch returns a channel closed when ref is revoked here or by another
// instance (while the listener is up; see AuthService.WatchRevocation),
// and a function that stops watching.
func (c *keyCache) watch(ref keyRef) (<-chan struct{}, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.revoked == nil {
		c.revoked = map[keyRef]map[chan struct{}]struct{}{}
	}
	set := c.revoked[ref]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		c.revoked[ref] = set
	}
	ch := make(chan struct{})
	set[ch] = struct{}{}
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if set := c.revoked[ref]; set != nil {
			delete(set, ch)
			if len(set) == 0 {
				delete(c.revoked, ref)
			}
		}
	}
}

// The hub's listener drives the cache (hubWatcher).

func (c *keyCache) channel() string { return keysChannel }

func (c *keyCache) listening(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.keys = nil
	c.live = up
}

func (c *keyCache) notify(payload string) {
	if c.notified != nil {
		defer c.notified.Signal()
	}
	ws, id, ok := strings.Cut(payload, ":")
	wsID, err1 := uuid.Parse(ws)
	keyID, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil {
		// Not ours to understand: forget everything rather than risk
		// keeping a revoked key.
		c.mu.Lock()
		c.gen++
		c.keys = nil
		c.mu.Unlock()
		return
	}
	c.drop(keyRef{ws: wsID, id: keyID})
}

// notifyRevoked queues the notification of a revoked key in t; PostgreSQL
// sends it only if t commits.
func notifyRevoked(ctx context.Context, t *tx, id uuid.UUID) error {
	_, err := t.ExecContext(ctx, "SELECT pg_notify(?, ?)", keysChannel, t.ws.String()+":"+id.String())
	return err
}

// keyUses limits last_used_at writes to one per key and lastUsedGranularity
// in this process, whatever the cache holds; the writes run in the
// background, off the request's path.
type keyUses struct {
	mu      sync.Mutex
	written map[keyRef]time.Time
}

// claim reports whether a use at now should be written, given the last use
// the database (or cache) knows of, and if so records it as written.
func (u *keyUses) claim(ref keyRef, known, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if w := u.written[ref]; w.After(known) {
		known = w
	}
	if !known.IsZero() && now.Sub(known) < lastUsedGranularity {
		return false
	}
	if u.written == nil || len(u.written) >= keyCacheMax {
		u.written = map[keyRef]time.Time{}
	}
	u.written[ref] = now
	return true
}
