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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
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

	// conn runs f on the transaction's connection: for the pgx batches of
	// queue and flush, which only write transactions send, and for the
	// reads of queryRows.
	conn func(f func(*pgx.Conn) error) error
	// batch holds the statements queued for the next round trip.
	batch *pgx.Batch
	// batched marks a transaction of writeBatched: it has no bun.Tx, its
	// BEGIN and tenant ride in front of its first batch (begun says they
	// were queued), and its last writes travel with its COMMIT.
	batched, begun bool
}

type pendingEvent struct {
	typ     crmhub.EventType
	subject string
	payload crmhub.EventPayload
}

// emit records an event to append when the transaction commits: every
// event of the hub is written through it, typed, with one of the
// payload structs of the contract.
func (t *tx) emit(typ crmhub.EventType, subject string, payload crmhub.EventPayload) {
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
	// A connection of its own rather than db.Bun.RunInTx, so that pgx
	// batches (t.flush) can run in the transaction too.
	conn, err := db.Bun.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: connect: %w", err)
	}
	defer conn.Close()
	err = conn.RunInTx(ctx, opts, func(ctx context.Context, btx bun.Tx) error {
		if _, err := btx.ExecContext(ctx, "SELECT set_config('app.workspace_id', ?, true)", ws.String()); err != nil {
			return fmt.Errorf("db: set tenant: %w", err)
		}
		t := newTx(ws, db.clock.Now(), actor)
		t.Tx = btx
		t.conn = rawConn(&conn)
		if err := fn(ctx, t); err != nil {
			return err
		}
		if dry {
			return errDryRun
		}
		if err := t.queueEvents(); err != nil {
			return err
		}
		return t.flush(ctx)
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return unstorable(err)
}

// unstorable reports text PostgreSQL refused to store (a NUL, or bytes that
// are not UTF-8) as EINVALID: it is the caller's input, not a failure of
// the service, so a bad item of a batch (a CRM's webhook, a sync page) is
// skipped and counted instead of failing the batch. The API refuses such
// text before it gets here, naming the field.
func unstorable(err error) error {
	switch pgCode(err) {
	case codeBadCharacter, codeUntranslatable:
		return crmhub.Errorf(crmhub.EINVALID, "text holds a character that cannot be stored (NUL or invalid UTF-8)")
	}
	return err
}

// rawConn runs f on the pgx connection under c, which may be in a
// transaction begun through bun: f's statements then run in it.
func rawConn(c *bun.Conn) func(f func(*pgx.Conn) error) error {
	return func(f func(*pgx.Conn) error) error {
		return c.Raw(func(dc any) error { return f(dc.(*stdlib.Conn).Conn()) })
	}
}

func newTx(ws uuid.UUID, now time.Time, actor string) *tx {
	t := &tx{ws: ws, now: now, actor: actor}
	if origin, ok := strings.CutPrefix(actor, "connection:"); ok {
		t.origin = origin
	}
	return t
}

// writeBatched is write for work done entirely in pgx batches (t.queue,
// t.flush), as applyChanges does: BEGIN and the tenant travel with fn's
// first batch, and what fn left queued travels with the events, their
// NOTIFY and COMMIT, so that a read followed by writes costs two round
// trips. A dry run sends ROLLBACK instead of the events and COMMIT.
func (db *DB) writeBatched(ctx context.Context, scope crmhub.Scope, fn func(context.Context, *tx) error) error {
	p, err := crmhub.Require(ctx, scope)
	if err != nil {
		return err
	}
	pc, err := db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("db: connect: %w", err)
	}
	// Release destroys the connection if it is still in a transaction.
	defer pc.Release()
	t := newTx(p.WorkspaceID, db.clock.Now(), actorOf(p))
	t.batched = true
	t.conn = func(f func(*pgx.Conn) error) error { return f(pc.Conn()) }
	err = fn(ctx, t)
	if err == nil && t.begun {
		if crmhub.IsDryRun(ctx) {
			t.queue("ROLLBACK")
		} else if err = t.queueEvents(); err == nil {
			t.queue("COMMIT")
		}
		if err == nil {
			err = t.flush(ctx)
		}
	}
	// fn failed, or a statement of the last batch did (COMMIT was skipped).
	if pc.Conn().PgConn().TxStatus() != 'I' {
		if _, rerr := pc.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			pc.Conn().Close(context.WithoutCancel(ctx))
		}
	}
	return unstorable(err)
}

// queue adds a statement to the next round trip of the transaction; attach
// a callback to the result (Query, QueryRow, Exec) to read what it returns
// when flush sends it. In a transaction of writeBatched, the first queued
// statement is preceded by BEGIN and the tenant.
func (t *tx) queue(sql string, args ...any) *pgx.QueuedQuery {
	if t.batch == nil {
		t.batch = &pgx.Batch{}
	}
	if t.batched && !t.begun {
		t.begun = true
		t.batch.Queue("BEGIN")
		t.batch.Queue("SELECT set_config('app.workspace_id', $1, true)", t.ws.String())
	}
	return t.batch.Queue(sql, args...)
}

// flush sends the queued statements in one round trip and runs their
// callbacks; the first error stops it.
func (t *tx) flush(ctx context.Context) error {
	b := t.batch
	t.batch = nil
	if b == nil || b.Len() == 0 {
		return nil
	}
	if t.conn == nil {
		return errors.New("db: a batch outside a write transaction")
	}
	return t.conn(func(c *pgx.Conn) error { return c.SendBatch(ctx, b).Close() })
}

// flushWrites sends queued writes now, unless they can wait for the COMMIT
// of a writeBatched transaction.
func (t *tx) flushWrites(ctx context.Context) error {
	if t.batched {
		return nil
	}
	return t.flush(ctx)
}

// source is who writes, as provenance (crmhub.FieldSources) names it.
func (t *tx) source() string { return crmhub.SourceOfActor(t.actor) }

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

// appendEventsSQL numbers the events ($2...$5, one array element each)
// after the workspace's last position, inserts them and sends one
// notification, which PostgreSQL delivers only if the transaction commits
// and which carries positions only: listeners read the rows themselves.
// Bumping workspaces.event_seq locks the workspace row until commit, so
// positions are handed out in commit order and a reader that has seen
// position N will never later find a smaller one.
const appendEventsSQL = `WITH seq AS (
	UPDATE workspaces SET event_seq = event_seq + cardinality($2::uuid[]) WHERE id = $1 RETURNING event_seq
), appended AS (
	INSERT INTO events (workspace_id, position, id, type, subject_id, actor, origin, payload, occurred_at)
	SELECT $1, seq.event_seq - cardinality($2::uuid[]) + e.n, e.id, e.type, e.subject, $6, $7, e.payload, $8
	FROM seq, unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS e(id, type, subject, payload, n)
)
SELECT seq.event_seq FROM seq,
	pg_notify($9, $1::text || ':' || (seq.event_seq - cardinality($2::uuid[]) + 1) || ':' || seq.event_seq)`

// queueEvents queues the statement that appends the pending events: one
// statement, sent with the transaction's last batch.
func (t *tx) queueEvents() error {
	if len(t.events) == 0 {
		return nil
	}
	n := len(t.events)
	ids, types, subjects, payloads := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]json.RawMessage, n)
	for i, e := range t.events {
		payload, err := json.Marshal(e.payload)
		if err != nil {
			return fmt.Errorf("db: encode %s payload: %w", e.typ, err)
		}
		ids[i], types[i], subjects[i], payloads[i] = newID(), string(e.typ), e.subject, payload
	}
	t.queue(appendEventsSQL, t.ws, ids, types, subjects, payloads, t.actor, t.origin, t.now, eventsChannel).
		QueryRow(func(row pgx.Row) error {
			var last int64
			if err := row.Scan(&last); err != nil {
				return fmt.Errorf("db: append events: %w", err)
			}
			return nil
		})
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
	codeBadCharacter       = "22021" // invalid byte sequence (NUL in text, bad UTF-8)
	codeUntranslatable     = "22P05" // \u0000 in jsonb
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
