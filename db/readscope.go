package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"
)

// A read scope serves every read of one GraphQL query operation from one
// connection, opened at the operation's first read (an operation that
// reads nothing costs nothing):
//
//   - Batched reads (readBatch: the contact by id, resolveContact) send the
//     tenant and their statements in one pgx batch, one round trip, which
//     runs as one implicit transaction when no transaction is open. Until
//     a read needs the transaction, the scope holds its connection straight
//     from pgx's pool: database/sql's pool keeps two idle connections, so
//     under load most operations got one it wrapped anew and closed after
//     (BENCHMARKS.md, "The read scope's connection": the point read 1.09x).
//   - The first read through db.read begins a read-only transaction on the
//     connection and sets the tenant; later ones share it, instead of
//     BEGIN, tenant, SELECT, COMMIT for each service call. Their
//     statements go through bun, or straight through pgx on the same
//     connection (queryRows).
//
// Reads of a scope run one at a time (a connection serves one statement at
// a time), and an operation never holds more than one connection, so
// concurrent operations cannot starve each other of the pool. A read that
// fails with a database error ends the sharing, and later reads open their
// own transactions again. What batched reads fetch ahead for the fields
// below them (a contact's identities) is kept in the scope, which dies
// with the operation: nothing read for one principal reaches another.
type readScope struct {
	db *DB
	ws uuid.UUID

	mu sync.Mutex
	// The connection, pinned at the first read: pc while only batched
	// reads have run, conn (the same or another of the pool's) once a bun
	// read needs the transaction. The scope holds one of them at most.
	pc     *pgxpool.Conn
	conn   *bun.Conn
	tx     *bun.Tx // begun at the first bun read
	broken bool    // ended, or failed: reads go their own way

	// identities read ahead by batched reads, by contact.
	identities map[uuid.UUID][]*crmhub.Identity
}

type readScopeKey struct{}

// ReadScope returns a context carrying the read scope of a query operation
// in the workspace of ctx's principal, and the function that ends it (call
// it once the operation's response is complete). Nothing is sent to the
// database until the first read. Without a principal it returns ctx
// unchanged.
func (db *DB) ReadScope(ctx context.Context) (context.Context, func(), error) {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return ctx, func() {}, nil
	}
	s := &readScope{db: db, ws: p.WorkspaceID}
	return context.WithValue(ctx, readScopeKey{}, s), s.end, nil
}

func (s *readScope) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = true
	s.identities = nil
	if s.tx != nil {
		s.tx.Rollback() // read only: nothing to commit
		s.tx = nil
	}
	if s.conn != nil {
		s.conn.Close() // a connection left in a transaction is discarded, not reused
		s.conn = nil
	}
	if s.pc != nil {
		s.pc.Release() // likewise
		s.pc = nil
	}
}

// scopeOf returns ctx's read scope for ws, locked, or nil when there is no
// usable one; the caller unlocks it.
func scopeOf(ctx context.Context, ws uuid.UUID) *readScope {
	s, ok := ctx.Value(readScopeKey{}).(*readScope)
	if !ok || s.ws != ws {
		return nil
	}
	s.mu.Lock()
	if s.broken {
		s.mu.Unlock()
		return nil
	}
	return s
}

// pin takes the scope's connection for bun from the pool at its first bun
// read, giving back the one batched reads held (they leave nothing open).
func (s *readScope) pin(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	if s.pc != nil {
		s.pc.Release()
		s.pc = nil
	}
	c, err := s.db.Bun.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: read scope connection: %w", err)
	}
	s.conn = &c
	return nil
}

// fail stops the sharing after an error that may have aborted the
// transaction; end still releases what the scope holds.
func (s *readScope) fail(err error) {
	if err != nil && crmhub.ErrorCode(err) == crmhub.EINTERNAL {
		s.broken = true
	}
}

// inReadScope runs fn in ctx's read scope when there is a usable one for
// ws, and reports whether it did. If the scope's transaction cannot be
// begun, fn is not run and the caller opens its own.
func (db *DB) inReadScope(ctx context.Context, ws uuid.UUID, actor string, fn func(context.Context, *tx) error) (bool, error) {
	s := scopeOf(ctx, ws)
	if s == nil {
		return false, nil
	}
	defer s.mu.Unlock()
	if s.tx == nil {
		if err := s.begin(ctx); err != nil {
			s.broken = true
			return false, nil
		}
	}
	err := fn(ctx, &tx{Tx: *s.tx, ws: ws, now: db.clock.Now(), actor: actor, conn: rawConn(s.conn)})
	s.fail(err)
	return true, err
}

// begin opens the scope's read-only transaction and sets its tenant.
func (s *readScope) begin(ctx context.Context) error {
	if err := s.pin(ctx); err != nil {
		return err
	}
	btx, err := s.conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("db: begin read scope: %w", err)
	}
	if _, err := btx.ExecContext(ctx, "SELECT set_config('app.workspace_id', ?, true)", s.ws.String()); err != nil {
		btx.Rollback()
		return fmt.Errorf("db: set tenant: %w", err)
	}
	s.tx = &btx
	return nil
}

// readBatch is read for reads written as one pgx batch: queue adds the
// statements (pass uuids as [16]byte: pgx encodes a uuid.UUID through its
// text form), read takes their results in order. The batch goes in one
// round trip behind the tenant setting: on the read scope's connection
// when ctx has one (inside its transaction if a bun read began it, else
// as an implicit transaction of its own), on a pool connection otherwise.
// The scope, if any, is passed to read so that it can keep what it fetched
// ahead (see keepIdentities); it is nil otherwise.
func (db *DB) readBatch(ctx context.Context, scope crmhub.Scope, queue func(b *pgx.Batch, ws uuid.UUID),
	read func(res pgx.BatchResults, s *readScope) error) error {
	p, err := crmhub.Require(ctx, scope)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('app.workspace_id', $1, true)", p.WorkspaceID.String())
	queue(b, p.WorkspaceID)
	send := func(c interface {
		SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
	}, s *readScope) error {
		res := c.SendBatch(ctx, b)
		_, err := res.Exec()
		if err == nil {
			err = read(res, s)
		}
		if cerr := res.Close(); err == nil {
			err = cerr
		}
		return err
	}
	s := scopeOf(ctx, p.WorkspaceID)
	if s == nil {
		return send(db.Pool, nil)
	}
	defer s.mu.Unlock()
	if s.conn != nil {
		err = rawConn(s.conn)(func(c *pgx.Conn) error { return send(c, s) })
	} else {
		if s.pc == nil {
			if s.pc, err = db.Pool.Acquire(ctx); err != nil {
				s.broken = true
				return send(db.Pool, nil)
			}
		}
		err = send(s.pc.Conn(), s)
	}
	s.fail(err)
	return err
}

// keepIdentities keeps identities read ahead for the operation's later
// IdentitiesByContact (the scope's lock is held during read).
func (s *readScope) keepIdentities(contact uuid.UUID, ids []*crmhub.Identity) {
	if s == nil {
		return
	}
	if s.identities == nil {
		s.identities = map[uuid.UUID][]*crmhub.Identity{}
	}
	s.identities[contact] = ids
}

// identitiesAhead returns the identities of every contact of ids when a
// batched read of ctx's scope has fetched them all.
func identitiesAhead(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Identity, bool) {
	p := crmhub.FromContext(ctx)
	if p == nil || !p.Can(crmhub.ScopeContactsRead) {
		return nil, false
	}
	s := scopeOf(ctx, p.WorkspaceID)
	if s == nil {
		return nil, false
	}
	defer s.mu.Unlock()
	out := make(map[uuid.UUID][]*crmhub.Identity, len(ids))
	for _, id := range ids {
		got, ok := s.identities[id]
		if !ok {
			return nil, false
		}
		out[id] = got
	}
	return out, true
}
