package db

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

var _ crmhub.ContactService = (*ContactService)(nil)

// ContactService implements crmhub.ContactService on PostgreSQL.
type ContactService struct{ db *DB }

// NewContactService returns the service over db.
func NewContactService(db *DB) *ContactService { return &ContactService{db: db} }

type contactRow struct {
	bun.BaseModel `bun:"table:contacts,alias:c"`

	WorkspaceID  uuid.UUID      `bun:"workspace_id,pk,type:uuid"`
	ID           uuid.UUID      `bun:"id,pk,type:uuid"`
	Name         *string        `bun:"name"`
	URI          *string        `bun:"uri"`
	CustomFields map[string]any `bun:"custom_fields,type:jsonb,notnull"`
	// ResponsibleUserID is cleared by the database when the user is deleted.
	ResponsibleUserID *uuid.UUID `bun:"responsible_user_id,type:uuid"`
	// FieldSources is written by every statement that writes the fields.
	FieldSources crmhub.FieldSources `bun:"field_sources,type:jsonb,notnull"`
	CreatedAt    time.Time           `bun:"created_at"`
	UpdatedAt    time.Time           `bun:"updated_at"`
}

func (r *contactRow) domain() *crmhub.Contact {
	cf := r.CustomFields
	if cf == nil {
		cf = map[string]any{}
	}
	return &crmhub.Contact{ID: r.ID, WorkspaceID: r.WorkspaceID, Name: r.Name, URI: r.URI,
		CustomFields: cf, ResponsibleUserID: r.ResponsibleUserID, FieldSources: r.FieldSources, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type identityRow struct {
	bun.BaseModel `bun:"table:contact_identities"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	MatchClass  string    `bun:"match_class,pk"`
	MatchSource string    `bun:"match_source,pk"`
	Value       string    `bun:"value,pk"`
	Type        string    `bun:"type,pk"`
	ContactID   uuid.UUID `bun:"contact_id,type:uuid"`
	Source      *string   `bun:"source"`
	CreatedAt   time.Time `bun:"created_at"`
}

func (r *identityRow) key() crmhub.MatchKey {
	return crmhub.MatchKey{Class: r.MatchClass, Source: r.MatchSource, Value: r.Value}
}

// payload is the identity as events show it.
func (r *identityRow) payload() crmhub.IdentityPayload {
	return crmhub.IdentityPayload{Type: crmhub.IdentityType(r.Type), Value: r.Value, Source: r.Source}
}

func (r *identityRow) domain() *crmhub.Identity {
	return &crmhub.Identity{ContactID: r.ContactID, Type: crmhub.IdentityType(r.Type), Value: r.Value,
		Source: r.Source, CreatedAt: r.CreatedAt}
}

type tagRow struct {
	bun.BaseModel `bun:"table:contact_tags"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ContactID   uuid.UUID `bun:"contact_id,pk,type:uuid"`
	Tag         string    `bun:"tag,pk"`
	CreatedAt   time.Time `bun:"created_at"`
}

type noteRow struct {
	bun.BaseModel `bun:"table:notes"`

	WorkspaceID uuid.UUID `bun:"workspace_id,pk,type:uuid"`
	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	ContactID   uuid.UUID `bun:"contact_id,type:uuid"`
	Body        string    `bun:"body"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r *noteRow) domain() *crmhub.Note {
	return &crmhub.Note{ID: r.ID, ContactID: r.ContactID, Body: r.Body, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// ContactsByIDs returns contacts in the order of ids, nil where missing.
func (s *ContactService) ContactsByIDs(ctx context.Context, ids []uuid.UUID) ([]*crmhub.Contact, error) {
	var rows []contactRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) (err error) {
		rows, err = queryRows(ctx, t, (*contactRow).dest,
			"SELECT "+contactColumns+" FROM contacts c WHERE c.workspace_id = $1 AND c.id = ANY($2::uuid[])", t.ws, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: contacts by id: %w", err)
	}
	return inOrder(ids, rows, func(r *contactRow) (uuid.UUID, *crmhub.Contact) { return r.ID, r.domain() }), nil
}

// IdentitiesByContact returns the identities of each contact, oldest first.
func (s *ContactService) IdentitiesByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Identity, error) {
	if got, ok := identitiesAhead(ctx, ids); ok {
		return got, nil // read with the contacts, in this operation
	}
	var rows []identityRow
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) (err error) {
		rows, err = queryRows(ctx, t, (*identityRow).dest, "SELECT "+identityColumns+
			" FROM contact_identities i WHERE i.workspace_id = $1 AND i.contact_id = ANY($2::uuid[]) ORDER BY i.created_at, i.type, i.value",
			t.ws, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("db: identities by contact: %w", err)
	}
	return identitiesByContact(rows, len(ids)), nil
}

// IdentitiesAhead returns the identities of contact id when a batched read
// of this operation fetched them with the contact (a point read, a
// resolve, an upsert's answer), and false otherwise. It never queries: the
// GraphQL layer asks it before queueing id for a batched read.
func (s *ContactService) IdentitiesAhead(ctx context.Context, id uuid.UUID) ([]*crmhub.Identity, bool) {
	got, ok := identitiesAhead(ctx, []uuid.UUID{id})
	return got[id], ok
}

// TagsByContact returns the tags of each contact, sorted.
func (s *ContactService) TagsByContact(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]string, error) {
	var out map[uuid.UUID][]string
	err := s.db.read(ctx, crmhub.ScopeContactsRead, func(ctx context.Context, t *tx) error {
		var err error
		out, err = loadTags(ctx, t, ids)
		return err
	})
	return out, err
}

// loadTags reads the tags of contacts inside a transaction.
func loadTags(ctx context.Context, t *tx, ids []uuid.UUID) (map[uuid.UUID][]string, error) {
	var rows []tagRow
	err := t.NewSelect().Model(&rows).Where("workspace_id = ? AND contact_id = ANY(?)", t.ws, pgdialect.Array(ids)).
		Order("tag").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: load tags: %w", err)
	}
	out := make(map[uuid.UUID][]string, len(ids))
	for _, r := range rows {
		out[r.ContactID] = append(out[r.ContactID], r.Tag)
	}
	return out, nil
}

// DeleteContact deletes one contact with its identities, tags and notes.
func (s *ContactService) DeleteContact(ctx context.Context, id uuid.UUID) error {
	missing, err := s.DeleteContacts(ctx, []uuid.UUID{id})
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
	}
	return nil
}

// DeleteContacts deletes the contacts that exist and returns the others.
func (s *ContactService) DeleteContacts(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) > crmhub.MaxBatch {
		return nil, tooMany(len(ids))
	}
	var deleted []uuid.UUID
	err := s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		deleted = deleted[:0]
		err := t.NewDelete().Model((*contactRow)(nil)).
			Where("workspace_id = ? AND id = ANY(?)", t.ws, pgdialect.Array(ids)).
			Returning("id").Scan(ctx, &deleted)
		if err != nil {
			return fmt.Errorf("db: delete contacts: %w", err)
		}
		for _, id := range deleted {
			gid := crmhub.GlobalID(crmhub.KindContact, id)
			t.emit(crmhub.EventContactDeleted, gid, crmhub.DeletedPayload{ID: gid})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var missing []uuid.UUID
	for _, id := range ids {
		if !slices.Contains(deleted, id) && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func tooMany(n int) error { return crmhub.TooMany(n, crmhub.MaxBatch) }
