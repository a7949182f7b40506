package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// tx is one transaction inside one workspace. Services pass it to their
// unexported helpers; it collects the events the write causes and appends
// them just before commit.
type tx struct {
	bun.Tx
	ws     uuid.UUID
	now    time.Time
	actor  string
	origin string
	events []pendingEvent
}

type pendingEvent struct {
	typ     string
	subject string
	payload any
}

// emit records an event to append when the transaction commits.
func (t *tx) emit(typ, subject string, payload any) {
	t.events = append(t.events, pendingEvent{typ: typ, subject: subject, payload: payload})
}

// write runs fn in a read-write transaction of the principal's workspace
// after checking that the principal holds scope.
func (db *DB) write(ctx context.Context, scope crmhub.Scope, fn func(context.Context, *tx) error) error {
	p, err := crmhub.Require(ctx, scope)
	if err != nil {
		return err
	}
	return db.inWorkspace(ctx, p.WorkspaceID, actorOf(p), false, fn)
}

// read runs fn in a read-only transaction of the principal's workspace after
// checking that the principal holds scope.
func (db *DB) read(ctx context.Context, scope crmhub.Scope, fn func(context.Context, *tx) error) error {
	p, err := crmhub.Require(ctx, scope)
	if err != nil {
		return err
	}
	if done, err := db.inReadScope(ctx, p.WorkspaceID, actorOf(p), fn); done {
		return err
	}
	return db.inWorkspace(ctx, p.WorkspaceID, actorOf(p), true, fn)
}

// inWorkspace opens a transaction, makes ws its tenant for row-level
// security, runs fn and appends the events fn emitted.
func (db *DB) inWorkspace(ctx context.Context, ws uuid.UUID, actor string, readOnly bool, fn func(context.Context, *tx) error) error {
	opts := &sql.TxOptions{ReadOnly: readOnly}
	dry := !readOnly && crmhub.IsDryRun(ctx)
	err := db.Bun.RunInTx(ctx, opts, func(ctx context.Context, btx bun.Tx) error {
		if _, err := btx.ExecContext(ctx, "SELECT set_config('app.workspace_id', ?, true)", ws.String()); err != nil {
			return fmt.Errorf("db: set tenant: %w", err)
		}
		t := &tx{Tx: btx, ws: ws, now: db.clock.Now(), actor: actor}
		if origin, ok := strings.CutPrefix(actor, "connection:"); ok {
			t.origin = origin
		}
		if err := fn(ctx, t); err != nil {
			return err
		}
		if dry {
			return errDryRun
		}
		return t.appendEvents(ctx)
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// errDryRun rolls back the transaction of a dry run (crmhub.WithDryRun)
// after fn has computed its results.
var errDryRun = errors.New("db: dry run rolled back")

// actorOf names who writes, as events record it: "api_key:key_...",
// "connection:conn_..." for the sync engine (the connection is then also
// the events' origin), or "system".
func actorOf(p *crmhub.Principal) string {
	if p.ConnectionID != uuid.Nil {
		return "connection:" + crmhub.GlobalID(crmhub.KindConnection, p.ConnectionID)
	}
	if p.APIKeyID == uuid.Nil {
		return "system"
	}
	return "api_key:" + crmhub.GlobalID(crmhub.KindAPIKey, p.APIKeyID)
}

type eventRow struct {
	bun.BaseModel `bun:"table:events"`

	WorkspaceID uuid.UUID       `bun:"workspace_id,pk,type:uuid"`
	Position    int64           `bun:"position,pk"`
	ID          uuid.UUID       `bun:"id,type:uuid"`
	Type        string          `bun:"type"`
	SubjectID   string          `bun:"subject_id"`
	Actor       string          `bun:"actor"`
	Origin      string          `bun:"origin"`
	Payload     json.RawMessage `bun:"payload,type:jsonb"`
	OccurredAt  time.Time       `bun:"occurred_at"`
}

// appendEvents numbers the pending events after the workspace's last
// position and inserts them. Bumping workspaces.event_seq locks the
// workspace row until commit, so positions are handed out in commit order
// and a reader that has seen position N will never later find a smaller one.
func (t *tx) appendEvents(ctx context.Context) error {
	if len(t.events) == 0 {
		return nil
	}
	var last int64
	err := t.NewRaw("UPDATE workspaces SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq",
		len(t.events), t.ws).Scan(ctx, &last)
	if err != nil {
		return fmt.Errorf("db: number events: %w", err)
	}
	rows := make([]eventRow, len(t.events))
	for i, e := range t.events {
		payload, err := json.Marshal(e.payload)
		if err != nil {
			return fmt.Errorf("db: encode %s payload: %w", e.typ, err)
		}
		id, _ := uuid.NewV7()
		rows[i] = eventRow{WorkspaceID: t.ws, Position: last - int64(len(t.events)) + int64(i) + 1, ID: id,
			Type: e.typ, SubjectID: e.subject, Actor: t.actor, Origin: t.origin, Payload: payload, OccurredAt: t.now}
	}
	if _, err := t.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("db: append events: %w", err)
	}
	// One notification per transaction, sent by PostgreSQL only if it
	// commits, carrying ids only: listeners read the rows themselves.
	payload := fmt.Sprintf("%s:%d:%d", t.ws, rows[0].Position, last)
	if _, err := t.ExecContext(ctx, "SELECT pg_notify(?, ?)", eventsChannel, payload); err != nil {
		return fmt.Errorf("db: notify events: %w", err)
	}
	t.events = nil
	return nil
}

// newID returns a fresh UUIDv7: time-ordered, so inserts stay local in indexes.
func newID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// SQLSTATE codes the services react to.
const (
	codeUniqueViolation    = "23505"
	codeExclusionViolation = "23P01"
	codeForeignKey         = "23503"
)

var errNoRows = sql.ErrNoRows

// notFound reports sql.ErrNoRows as ENOTFOUND for kind and passes other
// errors through wrapped.
func notFound(err error, k crmhub.Kind, op string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return crmhub.Errorf(crmhub.ENOTFOUND, "%s not found", k.Name())
	}
	return fmt.Errorf("db: %s: %w", op, err)
}

// count runs a counting query built by q in a read transaction needing scope.
func (db *DB) count(ctx context.Context, scope crmhub.Scope, q func(*tx) *bun.SelectQuery) (int, error) {
	var n int
	err := db.read(ctx, scope, func(ctx context.Context, t *tx) error {
		c, err := q(t).Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, passOrWrap(err, "count")
	}
	return n, nil
}
