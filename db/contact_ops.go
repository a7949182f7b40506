package db

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// CreateContact creates a contact; any identifier already linked is a
// conflict.
func (s *ContactService) CreateContact(ctx context.Context, in crmhub.ContactInput) (*crmhub.Contact, error) {
	ids, patch, err := in.Normalize()
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(ids, func(id crmhub.Identifier) bool { return id.Type == crmhub.IdentityContactID }) {
		return nil, crmhub.Invalid("identifiers", "CONTACT_ID cannot be given to a new contact")
	}
	return s.change(ctx, contactChange{mode: crmhub.MatchCreate, ids: ids, patch: patch})
}

// UpdateContact patches a contact's fields.
func (s *ContactService) UpdateContact(ctx context.Context, id uuid.UUID, patch crmhub.ContactPatch) (*crmhub.Contact, error) {
	p, err := patch.Normalize()
	if err != nil {
		return nil, err
	}
	return s.change(ctx, contactChange{mode: crmhub.MatchUpdate, target: id, patch: p})
}

// AddIdentities links identifiers to a contact.
func (s *ContactService) AddIdentities(ctx context.Context, id uuid.UUID, idents []crmhub.Identifier) (*crmhub.Contact, error) {
	norm, err := crmhub.NormalizeIdentifiers(idents)
	if err != nil {
		return nil, err.(*crmhub.Error).WithField("identifiers")
	}
	if slices.ContainsFunc(norm, func(id crmhub.Identifier) bool { return id.Type == crmhub.IdentityContactID }) {
		return nil, crmhub.Invalid("identifiers", "CONTACT_ID is not an identity that can be linked")
	}
	return s.change(ctx, contactChange{mode: crmhub.MatchUpdate, target: id, ids: norm})
}

// AddTags adds tags to a contact.
func (s *ContactService) AddTags(ctx context.Context, id uuid.UUID, tags []string) (*crmhub.Contact, error) {
	norm, err := crmhub.NormalizeTags(tags)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, contactChange{mode: crmhub.MatchUpdate, target: id, addTags: norm})
}

// RemoveTags removes tags from a contact; tags it does not have are ignored.
func (s *ContactService) RemoveTags(ctx context.Context, id uuid.UUID, tags []string) (*crmhub.Contact, error) {
	norm, err := crmhub.NormalizeTags(tags)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, contactChange{mode: crmhub.MatchUpdate, target: id, removeTags: norm})
}

func (s *ContactService) change(ctx context.Context, c contactChange) (*crmhub.Contact, error) {
	var res []changeResult
	err := s.db.writeBatched(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		var err error
		res, err = applyChanges(ctx, t, []contactChange{c})
		if err == nil && res[0].err != nil {
			return res[0].err // roll back; nothing was written anyway
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res[0].contact, nil
}

// UpsertContacts creates or updates up to MaxBatch contacts in one
// transaction. Items fail independently; a failed item writes nothing.
func (s *ContactService) UpsertContacts(ctx context.Context, items []crmhub.ContactInput) ([]crmhub.UpsertContactResult, error) {
	if len(items) > crmhub.MaxBatch {
		return nil, tooMany(len(items))
	}
	results := make([]crmhub.UpsertContactResult, len(items))
	var changes []contactChange
	var index []int
	for i, it := range items {
		results[i].Index = i
		ids, patch, err := it.Normalize()
		if err != nil {
			results[i].Status = crmhub.UpsertFailed
			results[i].Errors = []crmhub.ItemError{itemError(err.(*crmhub.Error))}
			continue
		}
		changes = append(changes, contactChange{mode: crmhub.MatchUpsert, ids: ids, patch: patch})
		index = append(index, i)
	}
	if len(changes) == 0 {
		return results, nil
	}
	err := s.db.writeBatched(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		res, err := applyChanges(ctx, t, changes)
		if err != nil {
			return err
		}
		for j, r := range res {
			i := index[j]
			results[i].Status = r.status
			results[i].Contact = r.contact
			results[i].Errors = nil
			if r.err != nil {
				results[i].Errors = []crmhub.ItemError{itemError(r.err)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

func itemError(e *crmhub.Error) crmhub.ItemError {
	return crmhub.ItemError{Field: e.Field, Code: e.Code, Message: e.Message, Extensions: e.Extensions, ContactIDs: e.ContactIDs}
}

// RemoveIdentity unlinks one identifier (of exactly the given type) from a
// contact.
func (s *ContactService) RemoveIdentity(ctx context.Context, id uuid.UUID, ident crmhub.Identifier) (*crmhub.Contact, error) {
	n, err := ident.Normalize()
	if err != nil {
		return nil, err.(*crmhub.Error).WithField("identifier")
	}
	var out *crmhub.Contact
	err = s.db.write(ctx, crmhub.ScopeContactsWrite, func(ctx context.Context, t *tx) error {
		states, err := loadStates(ctx, t, []uuid.UUID{id})
		if err != nil {
			return err
		}
		st := states[id]
		if st == nil {
			return crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
		}
		k := n.MatchKey()
		res, err := t.NewDelete().Model((*identityRow)(nil)).
			Where("workspace_id = ? AND contact_id = ? AND match_class = ? AND match_source = ? AND value = ? AND type = ?",
				t.ws, id, k.Class, k.Source, k.Value, string(n.Type)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("db: unlink identity: %w", err)
		}
		if affected, _ := res.RowsAffected(); affected == 0 {
			return crmhub.Errorf(crmhub.ENOTFOUND, "the contact has no such identity")
		}
		st.row.UpdatedAt = t.now
		if _, err := t.NewUpdate().Model(st.row).Column("updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("db: touch contact: %w", err)
		}
		gid := st.row.domain().GlobalID()
		t.emit(crmhub.EventContactUpdated, gid, contactPayload(st, []string{"identities"}))
		out = st.row.domain()
		return nil
	})
	return out, err
}
