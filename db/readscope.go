package db

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// A read scope is one read-only transaction shared by every read of one
// GraphQL query operation: instead of BEGIN, tenant, SELECT, COMMIT for
// each service call (the contact, then its identities through a loader,
// ...), the operation pays for the transaction once. Reads of the scope run
// one at a time (a connection serves one statement at a time); a read that
// fails with a database error ends the sharing, and later reads open their
// own transactions again.
type readScope struct {
	mu     sync.Mutex
	tx     bun.Tx
	ws     uuid.UUID
	broken bool
}

type readScopeKey struct{}

// ReadScope opens the shared read transaction of a query operation in the
// workspace of ctx's principal and returns a context carrying it, and the
// function that ends it (call it once the operation's response is
// written). Without a principal it returns ctx unchanged.
func (db *DB) ReadScope(ctx context.Context) (context.Context, func(), error) {
	p := crmhub.FromContext(ctx)
	if p == nil {
		return ctx, func() {}, nil
	}
	btx, err := db.Bun.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return ctx, nil, fmt.Errorf("db: begin read scope: %w", err)
	}
	if _, err := btx.ExecContext(ctx, "SELECT set_config('app.workspace_id', ?, true)", p.WorkspaceID.String()); err != nil {
		btx.Rollback()
		return ctx, nil, fmt.Errorf("db: set tenant: %w", err)
	}
	s := &readScope{tx: btx, ws: p.WorkspaceID}
	end := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.broken = true
		s.tx.Rollback() // read only: nothing to commit
	}
	return context.WithValue(ctx, readScopeKey{}, s), end, nil
}

// inReadScope runs fn in ctx's read scope when there is a usable one for
// ws, and reports whether it did.
func (db *DB) inReadScope(ctx context.Context, ws uuid.UUID, actor string, fn func(context.Context, *tx) error) (bool, error) {
	s, ok := ctx.Value(readScopeKey{}).(*readScope)
	if !ok || s.ws != ws {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return false, nil
	}
	err := fn(ctx, &tx{Tx: s.tx, ws: ws, now: db.clock.Now(), actor: actor})
	if err != nil && crmhub.ErrorCode(err) == crmhub.EINTERNAL {
		s.broken = true // the transaction may be aborted: stop sharing it
	}
	return true, err
}
