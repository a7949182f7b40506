package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/crmhub/crmhub"
)

// ErrUnsupported is returned by a method of an optional interface when
// the remote turns out not to offer the operation after all (an account
// without notes, say): the engine then leaves that part out quietly. An
// entity the remote does not have at all is not an error: the connector
// does not implement its interface.
var ErrUnsupported = errors.New("connectors: not supported by this CRM")

// Capabilities tell the sync engine how to talk to a connector. Which
// entities it syncs is not among them: that is which interfaces it
// implements (see Supports).
type Capabilities struct {
	// MaxBatch is the most records one upsert or delete request may carry.
	MaxBatch int
	// ResolveByIdentifier says the remote can find a contact by its
	// identifiers (Wazapin's POST /contacts/resolve), so a push need not
	// know the remote id.
	ResolveByIdentifier bool
}

// RemoteContact is a contact as an external CRM holds it, in domain terms.
type RemoteContact struct {
	// ExternalID is the remote's id of the record.
	ExternalID string
	Name       *string
	URI        *string
	// ResponsibleUserExternalID is the remote id of the responsible user.
	ResponsibleUserExternalID *string
	// Identifiers are the channels the record carries (phones, chats,
	// usernames), not yet normalized; the engine adds the EXTERNAL_ID.
	Identifiers  []crmhub.Identifier
	Tags         []string
	CustomFields map[string]any
	// UpdatedAt is the remote's change time when it reports one.
	UpdatedAt *time.Time
}

// RemoteDeal is a deal as an external CRM holds it.
type RemoteDeal struct {
	ExternalID                string
	Name                      *string
	Status                    *crmhub.DealStatus
	Amount                    *float64
	Currency                  *string
	Stage                     *string
	URI                       *string
	ResponsibleUserExternalID *string
	ContactExternalIDs        []string
	UpdatedAt                 *time.Time
}

// RemoteUser is a user (agent) as an external CRM holds it.
type RemoteUser struct {
	ExternalID string
	Name       string
	Email      *string
}

// Page is one page of a remote listing. Next is the opaque cursor of the
// following page, "" after the last one; the engine stores it with the
// page's records so a killed run resumes where it stopped.
type Page[T any] struct {
	Items []T
	Next  string
	// Total is the number of records the remote holds, when it says
	// (Wazzup's contact list does); 0 when unknown. It feeds progress bars.
	Total int
}

// UpsertResult is the fate of one record of an upsert.
type UpsertResult struct {
	// ExternalID is the remote's id of the record after the write: the
	// one sent, or the one the remote assigned when it created the record,
	// or the id of the existing remote record it was matched to (by an
	// identifier, say). Listing the remote afterwards shows the record
	// under this id. Empty when Err is set.
	ExternalID string
	// Err is a connectors.ItemError when the remote refused the record;
	// nil when it took it.
	Err error
}

// UpsertEach writes items with one call of write each, in order, for a
// remote without a batch write; write returns the remote's id of the
// record. A record the remote refuses (refused turns its error into its
// ItemError and true) fails alone and the others go on; any other error
// stops the call and is returned, the records before it staying written.
func UpsertEach[T any](ctx context.Context, items []T, write func(context.Context, T) (string, error),
	refused func(i int, item T, err error) (ItemError, bool)) ([]UpsertResult, error) {
	results := make([]UpsertResult, len(items))
	for i, item := range items {
		id, err := write(ctx, item)
		if err == nil {
			results[i].ExternalID = id
			continue
		}
		ie, ok := refused(i, item, err)
		if !ok {
			return nil, err
		}
		results[i].Err = ie
	}
	return results, nil
}

// Connector speaks to one external CRM. It returns domain values and never
// touches the database; the sync engine hands what it pulls to the same
// domain services the API calls. Methods return the typed errors of this
// package (RateLimitError, AuthError, TransientError, RequestError) for
// whole-request failures. An upsert reports each record's fate as an
// UpsertResult, in input order: the remote's id of the record when it was
// written (the engine links the hub record by that id, so a remote that
// assigns its own ids on create needs no workaround), or an ItemError
// when the remote rejected it.
//
// Every connector syncs contacts. A remote that also keeps deals or users
// is a DealSyncer or a UserSyncer too, and the engine finds out by
// asserting those interfaces (see Supports); the other optional
// interfaces (ConsentSyncer, NoteSyncer, WebhookParser, MessageSender)
// work the same way.
type Connector interface {
	Capabilities() Capabilities

	// ListContacts returns the page of remote contacts at cursor ("" is
	// the first page).
	ListContacts(ctx context.Context, cursor string) (Page[RemoteContact], error)
	// UpsertContacts creates or updates up to MaxBatch records by external
	// id and reports each record's fate and remote id.
	UpsertContacts(ctx context.Context, items []RemoteContact) ([]UpsertResult, error)
	// DeleteContacts deletes records by external id and returns those the
	// remote did not have.
	DeleteContacts(ctx context.Context, externalIDs []string) ([]string, error)
}

// DealSyncer is optional: a Connector whose remote keeps deals implements
// it, with the contract of the contact methods of Connector.
type DealSyncer interface {
	ListDeals(ctx context.Context, cursor string) (Page[RemoteDeal], error)
	UpsertDeals(ctx context.Context, items []RemoteDeal) ([]UpsertResult, error)
	DeleteDeals(ctx context.Context, externalIDs []string) ([]string, error)
}

// UserSyncer is optional: a Connector whose remote keeps users (agents)
// implements it, with the contract of the contact methods of Connector.
type UserSyncer interface {
	ListUsers(ctx context.Context, cursor string) (Page[RemoteUser], error)
	UpsertUsers(ctx context.Context, items []RemoteUser) ([]UpsertResult, error)
}

// Checker is optional: a Connector that can make a cheap authenticated
// call implements it, so that a run checks the remote before anything
// else and a refused key or an unreachable remote fails it at once
// (returning the errors of this package: AuthError, TransientError).
type Checker interface {
	Check(ctx context.Context) error
}

// UserDeleter is optional: a UserSyncer whose remote can delete users
// implements it, so that a user deleted in the hub is deleted there too.
// DeleteUsers deletes up to MaxBatch users by external id and returns
// those the remote did not have.
type UserDeleter interface {
	DeleteUsers(ctx context.Context, externalIDs []string) ([]string, error)
}

// Supports reports whether c syncs e: contacts always, deals when c is a
// DealSyncer, users when it is a UserSyncer.
func Supports(c Connector, e crmhub.SyncEntity) bool {
	switch e {
	case crmhub.SyncContacts:
		return true
	case crmhub.SyncDeals:
		_, ok := c.(DealSyncer)
		return ok
	case crmhub.SyncUsers:
		_, ok := c.(UserSyncer)
		return ok
	}
	return false
}

// Config is what a connection stores to reach its remote.
type Config struct {
	BaseURL string
	// APIKey is decrypted only to build the connector; it is never logged.
	APIKey string
	// Options are the connection's free-form options (for Wazzup,
	// "defaultResponsibleUserId").
	Options    map[string]any
	HTTPClient *http.Client
}

// Factory builds a connector for one connection.
type Factory func(Config) (Connector, error)

// Registry maps kinds to factories. It is built explicitly in cmd; no
// package registers itself.
type Registry map[crmhub.ConnectorKind]Factory

// New builds the connector of kind k.
func (r Registry) New(k crmhub.ConnectorKind, cfg Config) (Connector, error) {
	f, ok := r[k]
	if !ok {
		return nil, fmt.Errorf("connectors: no connector for %q", k)
	}
	return f(cfg)
}
