package syncer

import (
	"context"
	"fmt"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// backfillPage is how many hub records one backfill page reads. Only the
// page's ids and the records due are in memory at a time, so a hub of a
// million contacts costs a thousand pages, not a million records.
const backfillPage = 1000

// BackfillStore is the part of the Store a backfill needs;
// *db.SyncService implements it.
type BackfillStore interface {
	// HasSucceeded reports whether a real (not dry) run of the connection
	// has ended SUCCEEDED.
	HasSucceeded(ctx context.Context, ws, conn uuid.UUID) (bool, error)
	// BackfillPage reads the limit hub records of entity after the id
	// `after` in id order and returns those due for a push (no link, or
	// changed in the hub since their link was saved), the id of the last
	// record read and how many it read.
	BackfillPage(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, after uuid.UUID,
		limit int) (due []uuid.UUID, last uuid.UUID, n int, err error)
	// EventPosition returns the position of the workspace's latest event.
	EventPosition(ctx context.Context, ws uuid.UUID) (int64, error)
}

// backfills reports whether this run pushes what the hub already holds:
// a FULL run does, and so does every run of a connection until one has
// succeeded, so that a new connection fills its CRM.
func (r *runner) backfills() (bool, error) {
	if !r.conn.Direction.Pushes() {
		return false, nil
	}
	if r.run.Mode == crmhub.SyncFull {
		return true, nil
	}
	done, err := r.e.Store.HasSucceeded(r.as, r.ws, r.conn.ID)
	return !done, err
}

// backfillSteps are the backfill steps of a run that backfills: one per
// entity the connection pushes, users first so that contacts and deals
// can name their responsible user, contacts before deals so that deals
// can name their contacts.
func (r *runner) backfillSteps() []step {
	var out []step
	for _, ent := range crmhub.SyncEntities {
		if r.conn.Syncs(ent) && connectors.Supports(r.remote, ent) {
			out = append(out, step{"backfill", ent})
		}
	}
	return out
}

// backfill pushes, page by page in id order, the hub records of entity
// that the remote does not have yet or that changed in the hub since they
// were last synced. The push skips those whose fingerprint equals their
// link's, so records pulled unchanged cost nothing. The position (the
// last hub id done) is saved after each page: a resumed run starts at the
// page it was on.
//
// The event position at the start of the first backfill step is kept as
// prog.Covered: every create or update up to it happened before the
// backfill read the record, so the push of the changes that follows skips
// those events (see pushRound), and a record the remote refused is tried
// once per run, not twice. Deletions are not in what a backfill does and
// stay with the push; merges not yet pushed are carried first (see
// mergesFirst).
func (r *runner) backfill(entity crmhub.SyncEntity) error {
	push := map[crmhub.SyncEntity]func([]uuid.UUID) error{
		crmhub.SyncUsers: r.pushUsers, crmhub.SyncContacts: r.pushContacts, crmhub.SyncDeals: r.pushDeals}[entity]
	if r.prog.Covered == 0 {
		pos, err := r.e.Store.EventPosition(r.as, r.ws)
		if err != nil {
			return err
		}
		if err := r.mergesFirst(); err != nil {
			return err
		}
		r.prog.Covered = pos
	}
	r.done, r.total = 0, 0 // the progress bar counts the hub records read
	after := uuid.Nil
	if r.prog.Cursor != "" {
		var err error
		if after, err = uuid.Parse(r.prog.Cursor); err != nil {
			return fmt.Errorf("unreadable backfill position %q: %w", r.prog.Cursor, err)
		}
	}
	for {
		due, last, n, err := r.e.Store.BackfillPage(r.as, r.ws, r.conn.ID, entity, after, backfillPage)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := push(due); err != nil {
			return err
		}
		r.done += n
		after, r.prog.Cursor = last, last.String()
		if err := r.save(step{"backfill", entity}); err != nil {
			return err
		}
		if n < backfillPage {
			return nil
		}
	}
}
