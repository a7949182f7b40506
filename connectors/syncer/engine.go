// Package syncer is the sync engine: it runs one sync run of a connection,
// pulling remote records into the hub through the same domain services the
// API calls and pushing hub changes out through the connection's
// connector. It keeps its state (run progress, links, fingerprints, push
// position, conflicts) in a Store; it never touches the database itself.
//
// A run goes through steps in a fixed order: pull users, contacts, deals
// (each followed, in a FULL run, by the detection of records gone from the
// remote), then, in a run that backfills (see backfill.go), the hub's
// records the remote lacks, then the hub's changes. Progress is saved after every page, so a run killed
// mid-way and worked again resumes at the page it was on; records it
// handles twice come back UNCHANGED, matched by their EXTERNAL_ID.
//
// With a ConsentService, contacts' consents and suppressions travel with
// them, both ways, for connectors that implement the optional
// connectors.ConsentSyncer (see consent.go).
package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/wait"
	"github.com/crmhub/crmhub/internal/safehttp"
	"github.com/google/uuid"
)

// Store keeps the engine's state; *db.SyncService implements it.
type Store interface {
	// ClaimRun marks a run RUNNING under a new lease (run.Lease) and
	// returns it with its saved progress; nil when it has already
	// finished; crmhub.ErrSyncRunHeld or ErrSyncConnectionBusy when a
	// live lease keeps it from being worked here.
	ClaimRun(ctx context.Context, ws, id uuid.UUID) (*crmhub.SyncRun, json.RawMessage, error)
	// LeaseTerm is how long a claim lasts without a heartbeat.
	LeaseTerm() time.Duration
	// SaveRun, Heartbeat and FinishRun write under run.Lease and renew
	// it; each returns crmhub.ErrSyncRunCancelled when cancelSyncRun
	// ended the run (SaveRun still stores the progress and stats, and
	// releases the lease) and crmhub.ErrSyncLeaseLost when another
	// process took it over (they write nothing).
	SaveRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun, progress json.RawMessage) error
	Heartbeat(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error
	FinishRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error
	// ReleaseRun gives the lease up without ending the run.
	ReleaseRun(ctx context.Context, ws uuid.UUID, run *crmhub.SyncRun) error

	Links(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalIDs []string) (map[string]crmhub.SyncLink, error)
	LinksByLocal(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, ids []uuid.UUID) (map[uuid.UUID]crmhub.SyncLink, error)
	SaveLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, links []crmhub.SyncLink, run *uuid.UUID) error
	MarkSeen(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalIDs []string, run uuid.UUID) error
	UnseenLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, run uuid.UUID, limit int) ([]crmhub.SyncLink, error)
	DeleteLinks(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, links []crmhub.SyncLink, gone string) error

	PushPosition(ctx context.Context, ws, conn uuid.UUID) (int64, error)
	SetPushPosition(ctx context.Context, ws, conn uuid.UUID, pos int64) error
	PushChanges(ctx context.Context, ws, conn uuid.UUID, after int64, limit int) ([]*crmhub.Event, int64, error)

	RecordConflict(ctx context.Context, ws, conn uuid.UUID, entity crmhub.SyncEntity, externalID string,
		idents []crmhub.Identifier, candidates []uuid.UUID) (bool, error)

	BackfillStore
}

// Connections opens a connection with its decrypted API key;
// *db.ConnectionService implements it.
type Connections interface {
	Open(ctx context.Context, ws, id uuid.UUID) (*crmhub.Connection, string, error)
}

// Engine runs sync runs; New builds it.
type Engine struct {
	// Store keeps the engine's state; it is given to New.
	Store Store
	Config
}

// Config is what an Engine works with beside its store. Its zero values
// for the tunables are sensible.
type Config struct {
	Connections Connections
	Registry    connectors.Registry
	Contacts    crmhub.ContactService
	Deals       crmhub.DealService
	Users       crmhub.UserService
	// Consents, when set, carries consents and suppressions of contacts
	// with the connectors that implement connectors.ConsentSyncer (see
	// consent.go); nil leaves them out of sync.
	Consents crmhub.ConsentService
	// HTTPClient is the base client connectors use (it should refuse
	// private addresses in production); nil means http.DefaultClient.
	HTTPClient *http.Client
	Log        *slog.Logger
	// Progress, when set, hears about every page (the CLI's progress bar).
	Progress func(Progress)

	// Retries is how many times a transient failure (5xx, timeout) is
	// retried with backoff before the run fails (default 5).
	Retries int
	// RateLimitWaits is how many 429 answers in a row one request may get
	// before the run fails (default 30).
	RateLimitWaits int
	// MaxWait caps one wait for Retry-After (default 10 min).
	MaxWait time.Duration
	// Backoff is the first backoff of a transient retry (default 1 s),
	// doubled each time, with jitter.
	Backoff time.Duration
	// Sleep waits; tests may shorten it. Default: a timer that ends early
	// when ctx does.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	RunID  uuid.UUID
	Step   string // "pull", "gone", "backfill" or "push"
	Entity crmhub.SyncEntity
	// Done and Total count the records of this step's entity pulled so
	// far and in all; Total is 0 when the remote does not say.
	Done, Total int
	Stats       crmhub.SyncStats
}

// New returns an engine keeping its state in store.
func New(store Store, cfg Config) *Engine {
	cfg.defaults()
	return &Engine{Store: store, Config: cfg}
}

func (e *Config) defaults() {
	if e.Retries <= 0 {
		e.Retries = 5
	}
	if e.RateLimitWaits <= 0 {
		e.RateLimitWaits = 30
	}
	if e.MaxWait <= 0 {
		e.MaxWait = 10 * time.Minute
	}
	if e.Backoff <= 0 {
		e.Backoff = time.Second
	}
	if e.Sleep == nil {
		e.Sleep = wait.Sleep
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.HTTPClient == nil {
		e.HTTPClient = http.DefaultClient
	}
}

// Run works run id of workspace ws to its end: SUCCEEDED, or FAILED with
// the cause in its errors (then Run returns a *crmhub.SyncRunFailure).
// When ctx ends first, the run stays RUNNING with its progress saved and
// its lease released, and Run returns ctx's error, so that working it
// again (here or in another process) resumes it. It returns
// crmhub.ErrSyncRunCancelled when cancelSyncRun stopped the run,
// crmhub.ErrSyncLeaseLost when another process took it over, and the
// store's ErrSyncRunHeld or ErrSyncConnectionBusy when it could not claim
// it.
func (e *Engine) Run(ctx context.Context, ws, id uuid.UUID) error {
	return e.run(ctx, ws, id, false)
}

// RunForeground is Run for a caller that will not resume the run (the
// CLI's foreground sync): when ctx ends first, the run ends FAILED with the
// code INTERRUPTED, so that it does not block the connection's next run,
// and RunForeground returns a *crmhub.SyncRunFailure. What the run wrote
// stays; the next run skips it by fingerprint.
func (e *Engine) RunForeground(ctx context.Context, ws, id uuid.UUID) error {
	return e.run(ctx, ws, id, true)
}

func (e *Engine) run(ctx context.Context, ws, id uuid.UUID, foreground bool) error {
	run, raw, err := e.Store.ClaimRun(ctx, ws, id)
	if err != nil || run == nil {
		return err
	}
	r := &runner{e: e, ws: ws, run: run, log: e.Log.With("syncRun", run.GlobalID())}
	// work is cut, with the cause, when a heartbeat finds the run
	// cancelled or taken over.
	work, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	beat, stopBeat := context.WithCancel(work)
	beating := make(chan struct{})
	go func() { r.heartbeat(beat, cut); close(beating) }()
	err = r.work(work, raw)
	stopBeat()
	<-beating
	return r.end(ctx, context.Cause(work), err, foreground)
}

// work opens the connection, checks the remote and runs the steps; its
// error is what end makes of the run.
func (r *runner) work(ctx context.Context, raw json.RawMessage) error {
	e := r.e
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.prog); err != nil {
			return fmt.Errorf("unreadable progress: %w", err)
		}
	}
	conn, key, err := e.Connections.Open(ctx, r.ws, r.run.ConnectionID)
	if err != nil {
		if crmhub.ErrorCode(err) == crmhub.ENOTFOUND {
			return errors.New("the connection was deleted")
		}
		return err
	}
	r.conn = conn
	r.remote, err = e.Registry.New(conn.Kind, connectors.Config{BaseURL: conn.BaseURL, APIKey: key,
		Options: conn.Options, HTTPClient: limitedClient(e.HTTPClient, conn.RateLimit)})
	if err != nil {
		return err
	}
	r.caps = r.remote.Capabilities()
	if cs, ok := r.remote.(connectors.ConsentSyncer); ok && e.Consents != nil {
		r.consents = cs
	}
	p := &crmhub.Principal{WorkspaceID: r.ws, ConnectionID: conn.ID, Scopes: []crmhub.Scope{crmhub.ScopeAdmin}}
	r.as = crmhub.NewContext(ctx, p)
	r.write = r.as
	if r.run.DryRun {
		r.write = crmhub.WithDryRun(r.as)
	}
	if c, ok := r.remote.(connectors.Checker); ok {
		if err := r.call("check the remote", func() error { return c.Check(r.as) }); err != nil {
			return err
		}
	}
	return r.steps()
}

// end records how the run ended. cause is why its work was cut (a
// heartbeat found it cancelled or taken over), err what the work
// returned.
func (r *runner) end(ctx context.Context, cause, err error, foreground bool) error {
	bg := context.WithoutCancel(ctx)
	switch {
	case errors.Is(cause, crmhub.ErrSyncRunCancelled), errors.Is(err, crmhub.ErrSyncRunCancelled):
		return r.cancelled(bg)
	case errors.Is(cause, crmhub.ErrSyncLeaseLost), errors.Is(err, crmhub.ErrSyncLeaseLost):
		r.log.Warn("sync run no longer held by this process (another took it over, or its connection was deleted); it stops here")
		return crmhub.ErrSyncLeaseLost
	case ctx.Err() != nil && foreground:
		r.run.Errors = append(r.run.Errors, crmhub.SyncError{Code: "INTERRUPTED", Message: "the run was interrupted"})
		return r.endAs(bg, crmhub.SyncFailed, &crmhub.SyncRunFailure{Code: "INTERRUPTED", Message: "interrupted"})
	case ctx.Err() != nil:
		r.release(bg)
		return ctx.Err()
	case err != nil:
		return r.fail(bg, err)
	}
	if err := r.endAs(bg, crmhub.SyncSucceeded, nil); err != nil {
		return err
	}
	r.log.Info("sync run succeeded", "stats", r.run.Stats)
	return nil
}

// endAs ends the run with status and returns ended, or what the store
// said when the run was no longer this claim's (or the database failed:
// then the lease is released, so that River's retry can claim the run).
func (r *runner) endAs(ctx context.Context, status crmhub.SyncRunStatus, ended error) error {
	r.run.Status = status
	err := r.e.Store.FinishRun(ctx, r.ws, r.run)
	switch {
	case err == nil:
		return ended
	case errors.Is(err, crmhub.ErrSyncRunCancelled):
		return r.cancelled(ctx)
	case errors.Is(err, crmhub.ErrSyncLeaseLost):
		return err
	}
	r.release(ctx)
	return err
}

// cancelled stores the progress and stats of a run that cancelSyncRun
// ended, which releases its lease, and reports it. When the save of a
// page found the cancellation, that save stored them already and this
// one matches nothing (ErrSyncLeaseLost: the lease is released).
func (r *runner) cancelled(ctx context.Context) error {
	raw, _ := json.Marshal(r.prog)
	err := r.e.Store.SaveRun(ctx, r.ws, r.run, raw)
	if err != nil && !errors.Is(err, crmhub.ErrSyncRunCancelled) && !errors.Is(err, crmhub.ErrSyncLeaseLost) {
		r.log.Warn("saving a cancelled sync run", "err", err)
	}
	r.log.Info("sync run cancelled", "stats", r.run.Stats)
	return crmhub.ErrSyncRunCancelled
}

// release gives the run's lease up, so that whoever works it next need
// not wait for it to lapse; if even that fails, it lapses.
func (r *runner) release(ctx context.Context) {
	if err := r.e.Store.ReleaseRun(ctx, r.ws, r.run); err != nil {
		r.log.Warn("releasing a sync run", "err", err)
	}
}

// heartbeat renews the run's lease a few times per lease term until ctx
// ends; when the store says the run was cancelled or taken over, it cuts
// the run's work with that cause. Other failures (the database briefly
// away) are logged: the next beat may succeed before the lease lapses.
func (r *runner) heartbeat(ctx context.Context, cut context.CancelCauseFunc) {
	t := time.NewTicker(max(r.e.Store.LeaseTerm()/heartbeatsPerLease, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.e.Store.Heartbeat(ctx, r.ws, r.run)
		switch {
		case errors.Is(err, crmhub.ErrSyncRunCancelled), errors.Is(err, crmhub.ErrSyncLeaseLost):
			cut(err)
			return
		case err != nil && ctx.Err() == nil:
			r.log.Warn("sync run heartbeat failed", "err", err)
		}
	}
}

// heartbeatsPerLease is how many heartbeats a lease term holds, so that
// one or two failing do not lose it.
const heartbeatsPerLease = 4

// runner is one run in progress.
type runner struct {
	e      *Engine
	ws     uuid.UUID
	run    *crmhub.SyncRun
	conn   *crmhub.Connection
	remote connectors.Connector
	caps   connectors.Capabilities
	// consents is the remote's consent side, nil when it has none or the
	// engine no ConsentService.
	consents connectors.ConsentSyncer
	prog     progress
	// done and total feed Progress for the current pull.
	done, total int
	log         *slog.Logger
	// as acts for the connection; write is as, marked dry for a dry run:
	// only the domain writes take it, the store always writes for real.
	as, write context.Context
}

// progress is what a run saves to resume: the step it is on and the
// remote cursor of the next page (in a backfill, the last hub id done).
type progress struct {
	Step   int    `json:"step"`
	Cursor string `json:"cursor,omitempty"`
	// Push is a dry run's push position (a real run stores it on the
	// connection).
	Push int64 `json:"push,omitempty"`
	// Covered is the event position at which the run's backfill began:
	// the creates and updates up to it are in what the backfill read, so
	// the push of the changes leaves them out (see backfill.go).
	Covered int64 `json:"covered,omitempty"`
}

type step struct {
	kind   string // "pull", "gone", "backfill", "push"
	entity crmhub.SyncEntity
}

// plan lists the run's steps; backfill adds those of a backfill before
// the push of the changes.
func (r *runner) plan(backfill bool) []step {
	var out []step
	if r.conn.Direction.Pulls() {
		for _, ent := range crmhub.SyncEntities {
			if !r.conn.Syncs(ent) || !connectors.Supports(r.remote, ent) {
				continue
			}
			out = append(out, step{"pull", ent})
			if r.run.Mode == crmhub.SyncFull && !r.run.DryRun {
				out = append(out, step{"gone", ent})
			}
		}
	}
	if backfill {
		out = append(out, r.backfillSteps()...)
	}
	if r.conn.Direction.Pushes() {
		out = append(out, step{kind: "push"})
	}
	return out
}

func (r *runner) steps() error {
	backfill, err := r.backfills()
	if err != nil {
		return err
	}
	for i, s := range r.plan(backfill) {
		if i < r.prog.Step {
			continue
		}
		var err error
		switch s.kind {
		case "pull":
			err = r.pull(s.entity)
		case "gone":
			err = r.gone(s.entity)
		case "backfill":
			err = r.backfill(s.entity)
		case "push":
			err = r.push()
		}
		if err != nil {
			return err
		}
		r.prog = progress{Step: i + 1, Push: r.prog.Push, Covered: r.prog.Covered}
		if err := r.save(s); err != nil {
			return err
		}
	}
	return nil
}

// save stores the progress and tells the Progress hook.
func (r *runner) save(s step) error {
	raw, _ := json.Marshal(r.prog)
	if err := r.e.Store.SaveRun(r.as, r.ws, r.run, raw); err != nil {
		return err
	}
	if r.e.Progress != nil {
		r.e.Progress(Progress{RunID: r.run.ID, Step: s.kind, Entity: s.entity, Done: r.done, Total: r.total, Stats: r.run.Stats})
	}
	return nil
}

// fail ends the run as FAILED with err's message, made safe to show, and
// its code.
func (r *runner) fail(ctx context.Context, err error) error {
	msg, code := failure(err)
	r.run.Errors = append(r.run.Errors, crmhub.SyncError{Message: msg, Code: code})
	r.log.Warn("sync run failed", "err", err)
	return r.endAs(ctx, crmhub.SyncFailed, &crmhub.SyncRunFailure{Code: code, Message: msg})
}

// failure turns the error that ended a run into a message for operators
// and a code.
func failure(err error) (string, string) {
	var auth *connectors.AuthError
	var tr *connectors.TransientError
	var rl *connectors.RateLimitError
	var req *connectors.RequestError
	switch {
	case errors.Is(err, crmhub.ErrSecretUnreadable):
		return "the connection's API key cannot be decrypted with this process's secret key (CRMHUB_SECRET_KEY): " +
			"set the key it was saved with, or enter the API key again (updateConnection)", crmhub.SyncSecretUnreadable
	case errors.Is(err, safehttp.ErrAddressNotAllowed):
		return "the connection's base URL is a private, loopback or link-local address, which this process refuses: " +
			"set CRMHUB_CONNECTOR_ALLOW_PRIVATE=true to allow it (a local fake CRM, a CRM on your network)", crmhub.SyncRemoteUnreachable
	case errors.As(err, &auth):
		return fmt.Sprintf("the remote refused the connection's API key (HTTP %d); update the key", auth.Status), crmhub.SyncRemoteAuthFailed
	case errors.As(err, &rl):
		return "the remote kept answering 429 Too Many Requests; lower the connection's rate limit", "REMOTE_RATE_LIMITED"
	case errors.As(err, &tr):
		if tr.Status == 0 {
			return "the remote could not be reached: " + tr.Err.Error(), crmhub.SyncRemoteUnreachable
		}
		return fmt.Sprintf("the remote kept failing with HTTP %d", tr.Status), "REMOTE_UNAVAILABLE"
	case errors.As(err, &req):
		return fmt.Sprintf("the remote rejected a request (HTTP %d %s): %s", req.Status, req.Code, req.Message), "REMOTE_REJECTED"
	}
	if e, ok := err.(*crmhub.Error); ok && e.Code != crmhub.EINTERNAL {
		return e.Message, e.Code
	}
	return err.Error(), crmhub.EINTERNAL
}

// call makes one remote request, waiting out 429s (Retry-After, or
// backoff when the remote gives none) and retrying transient failures
// with exponential backoff and jitter.
func (r *runner) call(what string, fn func() error) error {
	backoff := r.e.Backoff
	limited, transient := 0, 0
	for {
		err := fn()
		var rl *connectors.RateLimitError
		var tr *connectors.TransientError
		var wait time.Duration
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rl) && limited < r.e.RateLimitWaits:
			limited++
			wait = rl.RetryAfter
			if wait <= 0 {
				wait = backoff
				backoff *= 2
			}
		case errors.As(err, &tr) && transient < r.e.Retries && !errors.Is(err, safehttp.ErrAddressNotAllowed):
			transient++
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)/2+1))
			backoff *= 2
		default:
			return err
		}
		wait = min(wait, r.e.MaxWait)
		r.log.Info("remote busy; waiting before retrying", "request", what, "wait", wait, "err", err)
		if err := r.e.Sleep(r.as, wait); err != nil {
			return err
		}
	}
}

// addError lists a problem of one record (the list is bounded; the stats
// count them all).
func (r *runner) addError(code, msg, recordID string) {
	if len(r.run.Errors) < crmhub.MaxSyncErrors {
		r.run.Errors = append(r.run.Errors, crmhub.SyncError{Message: msg, Code: code, RecordID: recordID})
	}
}

// addPlan notes what a dry run would have done.
func (r *runner) addPlan(entity crmhub.SyncEntity, action, recordID string) {
	if r.run.DryRun && len(r.run.Plan) < crmhub.MaxSyncPlan {
		r.run.Plan = append(r.run.Plan, crmhub.SyncPlanItem{Entity: entity, Action: action, RecordID: recordID})
	}
}

func (r *runner) connGID() string { return r.conn.GlobalID() }
