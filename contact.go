package crmhub

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Contact is a person or organisation the workspace talks to.
type Contact struct {
	ID           uuid.UUID
	WorkspaceID  uuid.UUID
	Name         *string
	URI          *string
	CustomFields map[string]any
	// ResponsibleUserID is the user in charge of the contact, if any.
	ResponsibleUserID *uuid.UUID
	// FieldSources tells who set each field's current value and when.
	FieldSources FieldSources
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// GlobalID is the contact's API id.
func (c *Contact) GlobalID() string { return GlobalID(KindContact, c.ID) }

// Identity is an identifier linked to a contact.
type Identity struct {
	ContactID uuid.UUID
	Type      IdentityType
	Value     string
	Source    *string
	CreatedAt time.Time
}

// Note is a free-text note on a contact.
type Note struct {
	ID        uuid.UUID
	ContactID uuid.UUID
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GlobalID is the note's API id.
func (n *Note) GlobalID() string { return GlobalID(KindNote, n.ID) }

// Limits on contact fields.
const (
	MaxURILength         = 2048
	MaxTagLength         = 100
	MaxTags              = 100
	MaxNoteLength        = 10000
	MaxCustomFields      = 100
	MaxCustomFieldKey    = 100
	MaxCustomFieldsBytes = 64 << 10
	// MaxCustomFieldDepth bounds how deeply a custom field's value nests
	// objects and lists (a value that is itself an object is depth 1).
	MaxCustomFieldDepth = 5
)

// ContactInput creates a contact.
type ContactInput struct {
	Name         *string
	Identifiers  []Identifier
	CustomFields map[string]any
	Tags         []string
	URI          *string
	// ResponsibleUserID must name a user of the workspace.
	ResponsibleUserID *uuid.UUID
}

// ContactPatch changes a contact. Nil fields stay as they are; CustomFields
// merge by key, a key set to nil is removed; Tags, when set, replace the set.
type ContactPatch struct {
	Name         *string
	CustomFields map[string]any
	Tags         *[]string
	URI          *string
	// ResponsibleUserID, when set, must name a user of the workspace;
	// ClearResponsibleUser removes the responsible user.
	ResponsibleUserID    *uuid.UUID
	ClearResponsibleUser bool
}

// UpsertStatus is the outcome of one item of a bulk upsert.
type UpsertStatus string

// Upsert outcomes.
const (
	UpsertCreated   UpsertStatus = "CREATED"
	UpsertUpdated   UpsertStatus = "UPDATED"
	UpsertUnchanged UpsertStatus = "UNCHANGED"
	UpsertFailed    UpsertStatus = "FAILED"
)

// ItemError is one problem with one item of a bulk call.
type ItemError struct {
	Field   string
	Code    string
	Message string
	// Extensions carries the same client-safe facts as Error.Extensions
	// (for a CONFLICT, the contact ids).
	Extensions map[string]any
	// ContactIDs is Error.ContactIDs: the contacts of a CONFLICT over
	// identifiers.
	ContactIDs []uuid.UUID
}

// ContactGlobalIDs is ContactIDs as the API names contacts (ct_...), nil
// when the error is about no contacts. They were matched inside the
// caller's workspace, so they never name another workspace's contacts.
func (e ItemError) ContactGlobalIDs() []string {
	if len(e.ContactIDs) == 0 {
		return nil
	}
	ids := make([]string, len(e.ContactIDs))
	for i, id := range e.ContactIDs {
		ids[i] = GlobalID(KindContact, id)
	}
	return ids
}

// UpsertContactResult reports one item of UpsertContacts, in input order.
type UpsertContactResult struct {
	Index   int
	Status  UpsertStatus
	Contact *Contact
	Errors  []ItemError
}

// ContactFilter narrows a contact listing. Zero values do not filter.
type ContactFilter struct {
	// Search matches name, email and phone identities (case-insensitive
	// substring; digits of a phone).
	Search string
	// Tags keeps contacts that carry all of these tags.
	Tags []string
	// Identity keeps the contact that owns this identifier.
	Identity          *Identifier
	UpdatedSince      *time.Time
	ResponsibleUserID *uuid.UUID
}

// ContactOrderField is what a contact listing is sorted by.
type ContactOrderField string

// Sort fields.
const (
	ContactOrderCreatedAt ContactOrderField = "CREATED_AT"
	ContactOrderUpdatedAt ContactOrderField = "UPDATED_AT"
	ContactOrderName      ContactOrderField = "NAME"
)

// ContactOrder sorts a listing; ties are broken by id so pages are stable.
type ContactOrder struct {
	Field ContactOrderField
	Desc  bool
}

// PageInfo follows the Relay connection spec.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// ContactEdge is one contact of a page with its cursor.
type ContactEdge struct {
	Cursor string
	Node   *Contact
}

// ContactConnection is one page of contacts. Filter is kept so totalCount
// can be computed only when asked for.
type ContactConnection struct {
	Edges    []*ContactEdge
	PageInfo PageInfo
	Filter   ContactFilter
}

// NoteEdge is one note of a page with its cursor.
type NoteEdge struct {
	Cursor string
	Node   *Note
}

// NoteConnection is one page of a contact's notes, newest first.
type NoteConnection struct {
	Edges     []*NoteEdge
	PageInfo  PageInfo
	ContactID uuid.UUID
}

// MergeResult describes a merge: the target as it is (or would be, for a dry
// run) afterwards and what moved onto it.
type MergeResult struct {
	Contact         *Contact
	MergedIDs       []uuid.UUID
	MovedIdentities int
	MovedNotes      int
	MovedTags       int
}

// NotesKey asks for one page of one contact's notes.
type NotesKey struct {
	ContactID uuid.UUID
	First     int
	After     string
}

// ContactService owns contacts, identities, tags, notes and custom fields.
// Every method works inside the principal's workspace and checks its scope:
// reads need contacts:read, writes contacts:write. An id of another workspace
// is ENOTFOUND. Writes append their events in their own transaction.
type ContactService interface {
	// Contact returns a contact by id, following merge redirects.
	// ENOTFOUND if there is none.
	Contact(ctx context.Context, id uuid.UUID) (*Contact, error)
	// ContactsByIDs returns contacts in the order of ids, nil where missing.
	ContactsByIDs(ctx context.Context, ids []uuid.UUID) ([]*Contact, error)
	// Contacts lists one page. EINVALID for a bad cursor or page size.
	Contacts(ctx context.Context, filter ContactFilter, order ContactOrder, first int, after string) (*ContactConnection, error)
	// CountContacts counts the contacts a filter keeps.
	CountContacts(ctx context.Context, filter ContactFilter) (int, error)
	// ResolveContact finds the one contact the identifiers point at: nil if
	// none does, ECONFLICT (Extensions["contactIds"]) if several do.
	ResolveContact(ctx context.Context, ids []Identifier) (*Contact, error)
	// CreateContact creates a contact. ECONFLICT (Extensions["contactId"])
	// if an identifier already belongs to a contact; EINVALID for bad input.
	CreateContact(ctx context.Context, in ContactInput) (*Contact, error)
	// UpdateContact patches a contact. ENOTFOUND, EINVALID.
	UpdateContact(ctx context.Context, id uuid.UUID, patch ContactPatch) (*Contact, error)
	// DeleteContact deletes a contact and everything it owns. ENOTFOUND.
	DeleteContact(ctx context.Context, id uuid.UUID) error
	// DeleteContacts deletes up to MaxBatch contacts and returns the ids that
	// were not found. ETOOMANY past the limit, deleting nothing.
	DeleteContacts(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error)
	// UpsertContacts creates or updates up to MaxBatch contacts, each matched
	// by its identifiers like ResolveContact. ETOOMANY past the limit,
	// writing nothing; otherwise each item succeeds or fails on its own.
	UpsertContacts(ctx context.Context, items []ContactInput) ([]UpsertContactResult, error)
	// MergeContacts moves everything the sources own onto the target and
	// deletes the sources, whose ids then redirect to the target. With
	// dryRun nothing is written. ENOTFOUND, EINVALID (target among sources).
	MergeContacts(ctx context.Context, target uuid.UUID, sources []uuid.UUID, dryRun bool) (*MergeResult, error)
	// AddIdentities links identifiers to a contact. ECONFLICT if one belongs
	// to another contact.
	AddIdentities(ctx context.Context, id uuid.UUID, ids []Identifier) (*Contact, error)
	// RemoveIdentity unlinks one identifier. ENOTFOUND if it is not linked.
	RemoveIdentity(ctx context.Context, id uuid.UUID, ident Identifier) (*Contact, error)
	// AddTags and RemoveTags change a contact's tags without replacing them.
	AddTags(ctx context.Context, id uuid.UUID, tags []string) (*Contact, error)
	RemoveTags(ctx context.Context, id uuid.UUID, tags []string) (*Contact, error)
	// AddNote, UpdateNote and DeleteNote manage notes. ENOTFOUND, EINVALID.
	AddNote(ctx context.Context, contactID uuid.UUID, body string) (*Note, error)
	UpdateNote(ctx context.Context, id uuid.UUID, body string) (*Note, error)
	DeleteNote(ctx context.Context, id uuid.UUID) error
	// Note returns one note. ENOTFOUND.
	Note(ctx context.Context, id uuid.UUID) (*Note, error)
	// CountNotes counts a contact's notes (NoteConnection.totalCount).
	CountNotes(ctx context.Context, contactID uuid.UUID) (int, error)

	// Batch reads for dataloaders: results are keyed by contact id, one
	// statement per call whatever the number of ids.
	IdentitiesByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Identity, error)
	TagsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]string, error)
	NotesByContact(ctx context.Context, keys []NotesKey) (map[NotesKey]*NoteConnection, error)
}
