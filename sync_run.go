package crmhub

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// SyncRunFailure is the error of a sync run that its engine ended as
// FAILED: the run's row holds the cause, so whoever worked it is done with
// it (a job is not retried, the CLI prints the run). Callers tell it from
// errors that left the run unfinished with errors.As. Code is the code of
// the run's error that says why (SyncSecretUnreadable, ...).
type SyncRunFailure struct{ Code, Message string }

func (e *SyncRunFailure) Error() string { return "sync run failed (" + e.Code + "): " + e.Message }

// SyncMode is how much of the remote a run reads.
type SyncMode string

// Modes. An incremental run reads the remote from the connection's last
// completed position where the remote offers one (Wazzup does not, so it
// reads everything and lets fingerprints skip unchanged records); a full
// run reads everything and also detects records gone from the remote.
const (
	SyncIncremental SyncMode = "INCREMENTAL"
	SyncFull        SyncMode = "FULL"
)

// SyncRunStatus is where a run is.
type SyncRunStatus string

// Run statuses.
const (
	SyncQueued    SyncRunStatus = "QUEUED"
	SyncRunning   SyncRunStatus = "RUNNING"
	SyncSucceeded SyncRunStatus = "SUCCEEDED"
	SyncFailed    SyncRunStatus = "FAILED"
	// SyncCancelled: cancelSyncRun stopped the run; what it did so far
	// stays, and its stats say how far it got.
	SyncCancelled SyncRunStatus = "CANCELLED"
)

// Codes of the error that ends a run that could not start (SyncError.Code).
// The contract fixes their spelling.
const (
	// SyncSecretUnreadable: the connection's API key cannot be decrypted
	// with this process's secret key (CRMHUB_SECRET_KEY).
	SyncSecretUnreadable = "SECRET_UNREADABLE"
	// SyncRemoteUnreachable: the remote could not be reached (network,
	// DNS, or a private address this process refuses).
	SyncRemoteUnreachable = "REMOTE_UNREACHABLE"
	// SyncRemoteAuthFailed: the remote refused the connection's API key.
	SyncRemoteAuthFailed = "REMOTE_AUTH_FAILED"
)

// ErrSecretUnreadable is wrapped by the error of opening a connection
// whose stored API key this process's secret key cannot decrypt (another
// key sealed it), so that the sync engine can tell it and name the setting.
var ErrSecretUnreadable = errors.New("the stored secret cannot be decrypted with this secret key")

// Errors of a run's lease (the claim a process holds on a run while it
// works it, renewed by heartbeats; see the sync store).
var (
	// ErrSyncRunCancelled: cancelSyncRun ended the run while it was worked.
	ErrSyncRunCancelled = errors.New("the sync run was cancelled")
	// ErrSyncLeaseLost: the run's lease lapsed and another process took
	// the run over; this one must stop working it.
	ErrSyncLeaseLost = errors.New("the sync run was taken over by another process")
	// ErrSyncRunHeld: a live process holds the run's lease, so it is
	// being worked and must not be worked here too.
	ErrSyncRunHeld = errors.New("the sync run is being worked by another process")
	// ErrSyncConnectionBusy: another run of the same connection (one just
	// cancelled) still holds its lease; it ends at its next page, or when
	// its lease lapses.
	ErrSyncConnectionBusy = errors.New("another run of the connection is still stopping")
)

// SyncStats counts what a run did, all entities together.
type SyncStats struct {
	Fetched   int `json:"fetched"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Conflicts int `json:"conflicts"`
	Failed    int `json:"failed"`
	Pushed    int `json:"pushed"`
	Deleted   int `json:"deleted"`
}

// Add adds o to s.
func (s *SyncStats) Add(o SyncStats) {
	s.Fetched += o.Fetched
	s.Created += o.Created
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
	s.Conflicts += o.Conflicts
	s.Failed += o.Failed
	s.Pushed += o.Pushed
	s.Deleted += o.Deleted
}

// SyncError is one problem of a run: a record the remote or the hub
// refused, or the cause of a failed run (RecordID empty).
type SyncError struct {
	Message  string `json:"message"`
	Code     string `json:"code"`
	RecordID string `json:"recordId,omitempty"`
}

// MaxSyncErrors is how many errors a run keeps; later ones are counted in
// the stats only.
const MaxSyncErrors = 200

// SyncRun is one run of a connection's sync.
type SyncRun struct {
	ID           uuid.UUID
	ConnectionID uuid.UUID
	Mode         SyncMode
	DryRun       bool
	Status       SyncRunStatus
	// Trigger says who started the run: "api", "schedule" or "cli".
	Trigger    string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
	Stats      SyncStats
	Errors     []SyncError
	// FieldConflicts lists the fields changed on both sides and how the
	// connection's policy decided them.
	FieldConflicts []FieldConflict
	// Plan lists, for a dry run, what a real run would have changed.
	Plan []SyncPlanItem
	// Lease is the token of the claim under which this process works the
	// run (set by the store's ClaimRun); the store's writes of the run's
	// progress and end check it, so a process that lost the run cannot
	// write over the one that took it over. Never shown.
	Lease uuid.UUID
}

// GlobalID is the run's API id.
func (r *SyncRun) GlobalID() string { return GlobalID(KindSyncRun, r.ID) }

// Finished reports whether the run has ended.
func (r *SyncRun) Finished() bool {
	return r.Status == SyncSucceeded || r.Status == SyncFailed || r.Status == SyncCancelled
}

// SyncPlanItem is one change a dry run found: Action is CREATE, UPDATE,
// PUSH or DELETE; RecordID the remote or hub id it concerns.
type SyncPlanItem struct {
	Entity   SyncEntity `json:"entity"`
	Action   string     `json:"action"`
	RecordID string     `json:"recordId"`
}

// ConflictWinner is the side whose value a field conflict kept.
type ConflictWinner string

// Winners.
const (
	WinnerHub    ConflictWinner = "HUB"
	WinnerRemote ConflictWinner = "REMOTE"
)

// FieldConflict is one field changed on both sides since a connection's
// last run, with the side its policy picked. Values are JSON text, nil
// when the side had none.
type FieldConflict struct {
	RecordID    string         `json:"recordId"`
	Field       string         `json:"field"`
	HubValue    *string        `json:"hubValue"`
	RemoteValue *string        `json:"remoteValue"`
	Winner      ConflictWinner `json:"winner"`
}

// MaxFieldConflicts is how many field conflicts a run lists; later ones
// are applied all the same.
const MaxFieldConflicts = 200

// MaxSyncPlan is how many plan items a dry run keeps.
const MaxSyncPlan = 1000

// SyncRunEdge is one run of a page.
type SyncRunEdge struct {
	Cursor string
	Node   *SyncRun
}

// SyncRunConnection is one page of runs, newest first.
type SyncRunConnection struct {
	Edges    []*SyncRunEdge
	PageInfo PageInfo
	// ConnectionID is the connection listed, nil for all (for totalCount).
	ConnectionID *uuid.UUID
}

type dryRunKey struct{}

// WithDryRun marks ctx so that the domain services compute and return what
// their writes would do, then roll the transaction back: nothing is stored
// and no event is emitted. The sync engine's dry runs call the same
// upserts as real runs this way.
func WithDryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

// IsDryRun reports whether ctx was marked by WithDryRun.
func IsDryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}
