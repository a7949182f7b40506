package crmhub

import (
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

// ConflictPolicy decides a field changed both in the hub and at the remote
// since a connection's last run.
type ConflictPolicy string

// Policies. NEWEST_WINS compares the remote's change time of the record,
// where the CRM reports one, with the hub's change time of the field (its
// FieldSources); without a remote time the hub wins.
const (
	NewestWins ConflictPolicy = "NEWEST_WINS"
	HubWins    ConflictPolicy = "HUB_WINS"
	RemoteWins ConflictPolicy = "REMOTE_WINS"
)

// ConflictPolicies lists every policy.
var ConflictPolicies = []ConflictPolicy{NewestWins, HubWins, RemoteWins}

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
	RateLimit int
	// ConflictPolicy decides fields changed on both sides since the last
	// run.
	ConflictPolicy ConflictPolicy
	LastSyncAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Hook is the registration of the connection's hook URL at its CRM.
	Hook HookState
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
	// ConflictPolicy defaults to NEWEST_WINS.
	ConflictPolicy ConflictPolicy
}

// ConnectionPatch changes a connection; nil fields stay as they are. A new
// APIKey replaces the stored one.
type ConnectionPatch struct {
	Name           *string
	BaseURL        *string
	APIKey         *string
	Direction      *SyncDirection
	Entities       []SyncEntity
	Options        map[string]any
	Enabled        *bool
	Schedule       *time.Duration
	RateLimit      *int
	ConflictPolicy *ConflictPolicy
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
	if in.ConflictPolicy == "" {
		in.ConflictPolicy = NewestWins
	}
	if !slices.Contains(ConflictPolicies, in.ConflictPolicy) {
		return Invalid("conflictPolicy", "unknown conflict policy %q", truncate(string(in.ConflictPolicy), 40))
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
	if p.ConflictPolicy != nil {
		if !slices.Contains(ConflictPolicies, *p.ConflictPolicy) {
			return nil, Invalid("conflictPolicy", "unknown conflict policy %q", truncate(string(*p.ConflictPolicy), 40))
		}
		c.ConflictPolicy = *p.ConflictPolicy
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
