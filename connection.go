package crmhub

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ConnectorKind names an external CRM; the values are the GraphQL enum.
type ConnectorKind string

// Known connector kinds.
const (
	ConnectorWazzup  ConnectorKind = "WAZZUP"
	ConnectorWazapin ConnectorKind = "WAZAPIN"
	ConnectorWazelo  ConnectorKind = "WAZELO"
	ConnectorWazera  ConnectorKind = "WAZERA"
)

// ConnectorKinds lists every kind.
var ConnectorKinds = []ConnectorKind{ConnectorWazzup, ConnectorWazapin, ConnectorWazelo, ConnectorWazera}

// SyncDirection says which way a connection moves records.
type SyncDirection string

// Directions.
const (
	SyncPull SyncDirection = "PULL"
	SyncPush SyncDirection = "PUSH"
	SyncBoth SyncDirection = "BOTH"
)

// Pulls reports whether the direction brings remote records in.
func (d SyncDirection) Pulls() bool { return d == SyncPull || d == SyncBoth }

// Pushes reports whether the direction sends hub changes out.
func (d SyncDirection) Pushes() bool { return d == SyncPush || d == SyncBoth }

// SyncEntity is a kind of record a connection syncs.
type SyncEntity string

// Entities, in the order a run handles them: users first (contacts and
// deals refer to them), then contacts, then deals (which refer to both).
const (
	SyncUsers    SyncEntity = "USERS"
	SyncContacts SyncEntity = "CONTACTS"
	SyncDeals    SyncEntity = "DEALS"
)

// SyncEntities lists every entity in run order.
var SyncEntities = []SyncEntity{SyncUsers, SyncContacts, SyncDeals}

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
)

// Limits of connection settings.
const (
	MaxConnectionNameLength = 200
	MaxConnectionURLLength  = 2048
	MaxConnectionKeyLength  = 4096
	MaxConnectionOptions    = 16 << 10 // bytes of JSON
	// MinSyncSchedule and MaxSyncSchedule bound a connection's schedule;
	// zero means runs only start on demand.
	MinSyncSchedule = 5 * time.Minute
	MaxSyncSchedule = 7 * 24 * time.Hour
	// MaxConnectionRateLimit bounds requests per minute to a remote.
	MaxConnectionRateLimit = 100_000
)

// Connection is a link to one account of an external CRM. Its API key is
// write-only: it is stored encrypted and never returned.
type Connection struct {
	ID        uuid.UUID
	Kind      ConnectorKind
	Name      string
	BaseURL   string
	Direction SyncDirection
	Entities  []SyncEntity
	// Options are connector-specific settings, e.g. Wazzup's
	// {"defaultResponsibleUserId": "..."}, and the engine's
	// {"onRemoteDelete": "unlink"|"delete"}.
	Options map[string]any
	Enabled bool
	// Schedule is the interval between scheduled runs; zero for none.
	Schedule time.Duration
	// RateLimit is the most requests per minute sent to the remote; zero
	// leaves the connector's own pacing.
	RateLimit  int
	LastSyncAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// GlobalID is the connection's API id.
func (c *Connection) GlobalID() string { return GlobalID(KindConnection, c.ID) }

// Syncs reports whether the connection syncs entity e.
func (c *Connection) Syncs(e SyncEntity) bool { return slices.Contains(c.Entities, e) }

// ConnectionInput creates a connection. Direction defaults to BOTH,
// Entities to [CONTACTS], Enabled to true.
type ConnectionInput struct {
	Kind      ConnectorKind
	Name      string
	BaseURL   string
	APIKey    string
	Direction SyncDirection
	Entities  []SyncEntity
	Options   map[string]any
	Enabled   *bool
	Schedule  time.Duration
	RateLimit int
}

// ConnectionPatch changes a connection; nil fields stay as they are. A new
// APIKey replaces the stored one.
type ConnectionPatch struct {
	Name      *string
	BaseURL   *string
	APIKey    *string
	Direction *SyncDirection
	Entities  []SyncEntity
	Options   map[string]any
	Enabled   *bool
	Schedule  *time.Duration
	RateLimit *int
}

// Validate checks a new connection and fills its defaults.
func (in *ConnectionInput) Validate() error {
	if !slices.Contains(ConnectorKinds, in.Kind) {
		return Invalid("kind", "unknown connector kind %q", truncate(string(in.Kind), 40))
	}
	if in.Direction == "" {
		in.Direction = SyncBoth
	}
	if len(in.Entities) == 0 {
		in.Entities = []SyncEntity{SyncContacts}
	}
	if in.Enabled == nil {
		t := true
		in.Enabled = &t
	}
	in.Name = strings.TrimSpace(in.Name)
	return validateConnection(in.Name, in.BaseURL, &in.APIKey, in.Direction, &in.Entities, in.Options, in.Schedule, in.RateLimit)
}

// Apply validates a patch and applies it to c. It returns the new API key
// when the patch sets one.
func (p *ConnectionPatch) Apply(c *Connection) (apiKey *string, err error) {
	if p.Name != nil {
		c.Name = strings.TrimSpace(*p.Name)
	}
	if p.BaseURL != nil {
		c.BaseURL = *p.BaseURL
	}
	if p.Direction != nil {
		c.Direction = *p.Direction
	}
	if p.Entities != nil {
		c.Entities = p.Entities
	}
	if p.Options != nil {
		c.Options = p.Options
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.Schedule != nil {
		c.Schedule = *p.Schedule
	}
	if p.RateLimit != nil {
		c.RateLimit = *p.RateLimit
	}
	key := "unchanged"
	if p.APIKey != nil {
		key = *p.APIKey
	}
	if err := validateConnection(c.Name, c.BaseURL, &key, c.Direction, &c.Entities, c.Options, c.Schedule, c.RateLimit); err != nil {
		return nil, err
	}
	if p.APIKey != nil {
		return &key, nil
	}
	return nil, nil
}

func validateConnection(name, baseURL string, apiKey *string, dir SyncDirection, entities *[]SyncEntity,
	options map[string]any, schedule time.Duration, rateLimit int) error {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxConnectionNameLength {
		return Invalid("name", "a name of 1 to %d characters is required", MaxConnectionNameLength)
	}
	if len(baseURL) > MaxConnectionURLLength {
		return Invalid("baseUrl", "at most %d characters", MaxConnectionURLLength)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Invalid("baseUrl", "an absolute http(s) URL without credentials is required")
	}
	*apiKey = strings.TrimSpace(*apiKey)
	if *apiKey == "" || len(*apiKey) > MaxConnectionKeyLength {
		return Invalid("apiKey", "an API key of 1 to %d bytes is required", MaxConnectionKeyLength)
	}
	if dir != SyncPull && dir != SyncPush && dir != SyncBoth {
		return Invalid("direction", "unknown direction %q", truncate(string(dir), 20))
	}
	if len(*entities) == 0 {
		return Invalid("entities", "at least one entity is required")
	}
	var seen []SyncEntity
	for _, e := range *entities {
		if !slices.Contains(SyncEntities, e) {
			return Invalid("entities", "unknown entity %q", truncate(string(e), 20))
		}
		if !slices.Contains(seen, e) {
			seen = append(seen, e)
		}
	}
	// Stored in run order, so equal sets compare equal.
	*entities = slices.DeleteFunc(slices.Clone(SyncEntities), func(e SyncEntity) bool { return !slices.Contains(seen, e) })
	if options != nil {
		b, err := json.Marshal(options)
		if err != nil || len(b) > MaxConnectionOptions {
			return Invalid("options", "a JSON object of at most %d bytes is required", MaxConnectionOptions)
		}
		if v, ok := options["onRemoteDelete"]; ok && v != "unlink" && v != "delete" {
			return Invalid("options", `onRemoteDelete is "unlink" or "delete"`)
		}
	}
	if schedule != 0 && (schedule < MinSyncSchedule || schedule > MaxSyncSchedule) {
		return Invalid("scheduleMinutes", "0 (on demand only) or between %d and %d minutes",
			int(MinSyncSchedule/time.Minute), int(MaxSyncSchedule/time.Minute))
	}
	if rateLimit < 0 || rateLimit > MaxConnectionRateLimit {
		return Invalid("rateLimitPerMinute", "between 0 (the connector's default) and %d", MaxConnectionRateLimit)
	}
	return nil
}

// ConnectionEdge is one connection of a page.
type ConnectionEdge struct {
	Cursor string
	Node   *Connection
}

// ConnectionConnection is one page of connections, oldest first.
type ConnectionConnection struct {
	Edges    []*ConnectionEdge
	PageInfo PageInfo
}

// ConnectionService manages connections. Every method needs the
// connectors:manage scope.
type ConnectionService interface {
	// CreateConnection validates and stores a connection, its API key
	// encrypted. EINVALID with the field.
	CreateConnection(ctx context.Context, in ConnectionInput) (*Connection, error)
	// UpdateConnection applies a patch. ENOTFOUND, EINVALID.
	UpdateConnection(ctx context.Context, id uuid.UUID, patch ConnectionPatch) (*Connection, error)
	// DeleteConnection deletes a connection with its runs, links and
	// conflicts and returns it as it was; hub records stay. A run in
	// progress stops at its next step. ENOTFOUND.
	DeleteConnection(ctx context.Context, id uuid.UUID) (*Connection, error)
	// Connection returns one connection. ENOTFOUND.
	Connection(ctx context.Context, id uuid.UUID) (*Connection, error)
	// Connections lists connections, oldest first. EINVALID for a bad
	// `first` or a malformed `after`.
	Connections(ctx context.Context, first int, after string) (*ConnectionConnection, error)
	// ConnectionsByIDs returns connections in the order of ids, nil where
	// one does not exist; it serves the batched reads of nested fields.
	ConnectionsByIDs(ctx context.Context, ids []uuid.UUID) ([]*Connection, error)
	// CountConnections serves totalCount.
	CountConnections(ctx context.Context) (int, error)
	HookService
}

// SyncLink ties a remote record to its hub record, for one connection
// and entity.
type SyncLink struct {
	ExternalID string
	LocalID    uuid.UUID
	// Fingerprint hashes the remote record as last pulled or pushed: an
	// equal hash means the record has not changed since.
	Fingerprint []byte
}

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
	// Plan lists, for a dry run, what a real run would have changed.
	Plan []SyncPlanItem
}

// GlobalID is the run's API id.
func (r *SyncRun) GlobalID() string { return GlobalID(KindSyncRun, r.ID) }

// Finished reports whether the run has ended.
func (r *SyncRun) Finished() bool { return r.Status == SyncSucceeded || r.Status == SyncFailed }

// SyncPlanItem is one change a dry run found: Action is CREATE, UPDATE,
// PUSH or DELETE; RecordID the remote or hub id it concerns.
type SyncPlanItem struct {
	Entity   SyncEntity `json:"entity"`
	Action   string     `json:"action"`
	RecordID string     `json:"recordId"`
}

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

// ConflictStatus is where an identity conflict is.
type ConflictStatus string

// Conflict statuses.
const (
	ConflictOpen     ConflictStatus = "OPEN"
	ConflictResolved ConflictStatus = "RESOLVED"
)

// ConflictResolution is how a conflict was resolved.
type ConflictResolution string

// Resolutions: MERGE merges the candidates into the chosen contact, so the
// record's identifiers all point at it; PICK links the record to the
// chosen contact and leaves identifiers owned by the others with them.
const (
	ResolveMerge ConflictResolution = "MERGE"
	ResolvePick  ConflictResolution = "PICK"
)

// IdentityConflict is a pulled record whose identifiers belong to
// different hub contacts. It is never merged silently: an operator
// resolves it.
type IdentityConflict struct {
	ID           uuid.UUID
	ConnectionID uuid.UUID
	Entity       SyncEntity
	// ExternalID is the remote's id of the record.
	ExternalID string
	// Identifiers are those the record carries (its EXTERNAL_ID first).
	Identifiers []Identifier
	// Candidates are the hub contacts the identifiers point at.
	Candidates []uuid.UUID
	Status     ConflictStatus
	Resolution *ConflictResolution
	// ContactID is the contact the resolution chose.
	ContactID  *uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt *time.Time
}

// GlobalID is the conflict's API id.
func (c *IdentityConflict) GlobalID() string { return GlobalID(KindIdentityConflict, c.ID) }

// IdentityConflictEdge is one conflict of a page.
type IdentityConflictEdge struct {
	Cursor string
	Node   *IdentityConflict
}

// IdentityConflictConnection is one page of conflicts, newest first.
type IdentityConflictConnection struct {
	Edges    []*IdentityConflictEdge
	PageInfo PageInfo
	// Status is the status listed, nil for all (for totalCount).
	Status *ConflictStatus
}

// SyncService starts and reports sync runs and keeps identity conflicts.
// Starting a run needs connectors:manage; reading runs and conflicts needs
// connectors:manage too (they name remote ids); resolving a conflict needs
// connectors:manage and contacts:write.
type SyncService interface {
	// RunSync queues a run of the connection. One run at a time per
	// connection: ECONFLICT (Extensions["syncRunId"]) while another is
	// queued or running. EINVALID for a disabled connection. ENOTFOUND.
	RunSync(ctx context.Context, connectionID uuid.UUID, mode SyncMode, dryRun bool) (*SyncRun, error)
	// SyncRun returns one run. ENOTFOUND.
	SyncRun(ctx context.Context, id uuid.UUID) (*SyncRun, error)
	// SyncRuns lists runs newest first, of one connection when
	// connectionID is not nil.
	SyncRuns(ctx context.Context, connectionID *uuid.UUID, first int, after string) (*SyncRunConnection, error)
	// IdentityConflicts lists conflicts newest first, optionally of one
	// status.
	IdentityConflicts(ctx context.Context, status *ConflictStatus, first int, after string) (*IdentityConflictConnection, error)
	// IdentityConflict returns one conflict. ENOTFOUND.
	IdentityConflict(ctx context.Context, id uuid.UUID) (*IdentityConflict, error)
	// ResolveIdentityConflict resolves an open conflict in favour of one
	// of its candidates (MERGE or PICK). EINVALID when contactID is not a
	// candidate or the conflict is already resolved. ENOTFOUND.
	ResolveIdentityConflict(ctx context.Context, id uuid.UUID, how ConflictResolution, contactID uuid.UUID) (*IdentityConflict, error)
	// CountSyncRuns and CountIdentityConflicts serve totalCount; they
	// take the filters of SyncRuns and IdentityConflicts.
	CountSyncRuns(ctx context.Context, connectionID *uuid.UUID) (int, error)
	CountIdentityConflicts(ctx context.Context, status *ConflictStatus) (int, error)
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

// Limits of a connection's inbound webhook secret.
const (
	MinWebhookSecretLength = 16
	MaxWebhookSecretLength = 512
)

// ConnectionChannel is one messenger account of an external CRM, as its
// webhooks last reported it.
type ConnectionChannel struct {
	ConnectionID uuid.UUID
	ChannelID    string
	// Transport is the messenger (whatsapp, instagram, telegram, ...).
	Transport string
	// PlainID is the account's phone number or username.
	PlainID string
	// State is the CRM's word for it ("active", "disabled", ...).
	State     string
	UpdatedAt time.Time
}

// HookTarget is what an inbound webhook needs of its connection.
type HookTarget struct {
	WorkspaceID uuid.UUID
	Connection  *Connection
	APIKey      string
	// WebhookSecret is "" until one is set: every webhook is refused then.
	WebhookSecret string
}

// HookService manages what inbound webhooks from external CRMs need; its
// methods need connectors:manage.
type HookService interface {
	// SetWebhookSecret sets the secret of a connection's inbound webhooks
	// and returns it, once: the signing key the CRM shows (Wazelo, Wazera)
	// when secret is given, else a new random token for the hook URL of
	// CRMs that do not sign (Wazzup: /hooks/{connectionId}?token=...).
	// EINVALID (field "secret"), ENOTFOUND.
	SetWebhookSecret(ctx context.Context, connectionID uuid.UUID, secret *string) (string, error)
	// ChannelsByConnection returns the channels of each connection, by
	// channel id.
	ChannelsByConnection(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*ConnectionChannel, error)
}
