package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

// Queries.

func (r *queryResolver) Contact(ctx context.Context, id string) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Contacts.Contact(ctx, uid))
}

func (r *queryResolver) Contacts(ctx context.Context, first *int, after *string, filter *model.ContactFilter,
	orderBy *model.ContactOrder) (*crmhub.ContactConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	conn, err := r.Resolver.Contacts.Contacts(ctx, contactFilter(filter), contactOrder(orderBy), n, deref(after))
	if err != nil {
		return nil, err
	}
	page := make([]*crmhub.Contact, len(conn.Edges))
	for i, e := range conn.Edges {
		page[i] = e.Node
	}
	r.Resolver.loadersFor(ctx).addPage(page)
	return conn, nil
}

func (r *queryResolver) ResolveContact(ctx context.Context, ids []*model.IdentifierInput) (*crmhub.Contact, error) {
	return r.Resolver.Contacts.ResolveContact(ctx, identifiers(ids))
}

func (r *contactConnectionResolver) TotalCount(ctx context.Context, obj *crmhub.ContactConnection) (int, error) {
	return r.Contacts.CountContacts(ctx, obj.Filter)
}

// Contact fields. Everything that needs another table goes through the
// operation's loaders, so a page of contacts costs one statement per field.

func (r *contactResolver) Email(ctx context.Context, obj *crmhub.Contact) (*string, error) {
	return r.firstIdentity(ctx, obj, func(t crmhub.IdentityType) bool { return t == crmhub.IdentityEmail })
}

func (r *contactResolver) Phone(ctx context.Context, obj *crmhub.Contact) (*string, error) {
	return r.firstIdentity(ctx, obj, crmhub.IdentityType.IsPhoneLike)
}

// firstIdentity returns the value of the contact's oldest identity whose
// type matches, from the same batch as Contact.identities.
func (r *contactResolver) firstIdentity(ctx context.Context, obj *crmhub.Contact, match func(crmhub.IdentityType) bool) (*string, error) {
	ids, err := r.Identities(ctx, obj)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if match(id.Type) {
			v := id.Value
			return &v, nil
		}
	}
	return nil, nil
}

func (r *contactResolver) CustomFields(_ context.Context, obj *crmhub.Contact) (map[string]any, error) {
	if obj.CustomFields == nil {
		return map[string]any{}, nil
	}
	return obj.CustomFields, nil
}

func (r *contactResolver) Tags(ctx context.Context, obj *crmhub.Contact) ([]string, error) {
	tags, err := r.loadersFor(ctx).tagsOf(ctx, obj)
	if tags == nil && err == nil {
		tags = []string{}
	}
	return tags, err
}

func (r *contactResolver) Identities(ctx context.Context, obj *crmhub.Contact) ([]*crmhub.Identity, error) {
	ids, err := r.loadersFor(ctx).identitiesOf(ctx, obj)
	if ids == nil && err == nil {
		ids = []*crmhub.Identity{}
	}
	return ids, err
}

func (r *contactResolver) Notes(ctx context.Context, obj *crmhub.Contact, first *int, after *string) (*crmhub.NoteConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	key := crmhub.NotesKey{ContactID: obj.ID, First: n, After: deref(after)}
	conn, err := r.loadersFor(ctx).notesOf(ctx, obj, key)
	if conn == nil && err == nil {
		conn = &crmhub.NoteConnection{ContactID: obj.ID, Edges: []*crmhub.NoteEdge{}}
	}
	return conn, err
}

func (r *noteConnectionResolver) TotalCount(ctx context.Context, obj *crmhub.NoteConnection) (int, error) {
	return r.Contacts.CountNotes(ctx, obj.ContactID)
}

func (r *noteResolver) Contact(ctx context.Context, obj *crmhub.Note) (*crmhub.Contact, error) {
	c, err := r.loadersFor(ctx).contacts().Load(ctx, obj.ContactID)()
	if c == nil && err == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
	}
	return c, err
}

// Mutations.

func (r *mutationResolver) CreateContact(ctx context.Context, input model.ContactInput) (*crmhub.Contact, error) {
	c, err := r.Contacts.CreateContact(ctx, contactInput(input))
	return c, inArg("input", err)
}

func (r *mutationResolver) UpdateContact(ctx context.Context, id string, input model.ContactPatch) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, id)
	if err != nil {
		return nil, err
	}
	c, err := r.Contacts.UpdateContact(ctx, uid, contactPatch(input))
	return c, inArg("input", err)
}

func (r *mutationResolver) DeleteContact(ctx context.Context, id string) (string, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, id)
	if err != nil {
		return "", err
	}
	if err := r.Contacts.DeleteContact(ctx, uid); err != nil {
		return "", err
	}
	return crmhub.GlobalID(crmhub.KindContact, uid), nil
}

func (r *mutationResolver) UpsertContacts(ctx context.Context, input []*model.ContactUpsertInput) (*model.UpsertContactsPayload, error) {
	items := make([]crmhub.ContactInput, len(input))
	for i, in := range input {
		items[i] = upsertInput(in)
	}
	res, err := r.Contacts.UpsertContacts(ctx, items)
	if err != nil {
		return nil, err
	}
	out := &model.UpsertContactsPayload{Results: make([]*crmhub.UpsertContactResult, len(res))}
	contacts := make([]*crmhub.Contact, 0, len(res))
	for i := range res {
		out.Results[i] = &res[i]
		contacts = append(contacts, res[i].Contact)
	}
	r.loadersFor(ctx).addPage(contacts)
	return out, nil
}

// DeleteContacts answers with the ids, exactly as given, that name no
// contact of the workspace. An id that does not decode (malformed, another
// kind) cannot name a contact; it is sent to the service as the nil UUID,
// which never exists, so the service's batch limit still counts every id.
func (r *mutationResolver) DeleteContacts(ctx context.Context, ids []string) ([]string, error) {
	return deleteByIDs(ctx, crmhub.KindContact, ids, r.Contacts.DeleteContacts)
}

// deleteByIDs runs a bulk delete and answers with the ids, as the client
// wrote them, that were not found. Ids that do not decode (malformed, of
// another type) are passed on as the nil UUID, so the batch limit still
// counts them, and reported as not found.
func deleteByIDs(ctx context.Context, k crmhub.Kind, ids []string,
	del func(context.Context, []uuid.UUID) ([]uuid.UUID, error)) ([]string, error) {
	uids := make([]uuid.UUID, len(ids))
	for i, id := range ids {
		uids[i], _ = crmhub.ParseID(k, id)
	}
	missing, err := del(ctx, uids)
	if err != nil {
		return nil, err
	}
	gone := make(map[uuid.UUID]bool, len(missing))
	for _, m := range missing {
		gone[m] = true
	}
	out := []string{}
	seen := map[string]bool{}
	for i, id := range ids {
		if (uids[i] == uuid.Nil || gone[uids[i]]) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func (r *mutationResolver) MergeContacts(ctx context.Context, targetID string, sourceIds []string, dryRun *bool) (*crmhub.Contact, error) {
	target, err := crmhub.ParseID(crmhub.KindContact, targetID)
	if err != nil {
		return nil, err
	}
	sources := make([]uuid.UUID, len(sourceIds))
	for i, id := range sourceIds {
		if sources[i], err = crmhub.ParseID(crmhub.KindContact, id); err != nil {
			return nil, err
		}
	}
	res, err := r.Contacts.MergeContacts(ctx, target, sources, deref(dryRun))
	if err != nil {
		return nil, err
	}
	return res.Contact, nil
}

func (r *mutationResolver) AddContactIdentities(ctx context.Context, contactID string, ids []*model.IdentifierInput) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Contacts.AddIdentities(ctx, uid, identifiers(ids))
}

func (r *mutationResolver) RemoveContactIdentity(ctx context.Context, contactID string, id model.IdentifierInput) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Contacts.RemoveIdentity(ctx, uid, identifier(&id))
}

func (r *mutationResolver) AddTags(ctx context.Context, contactID string, tags []string) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Contacts.AddTags(ctx, uid, tags)
}

func (r *mutationResolver) RemoveTags(ctx context.Context, contactID string, tags []string) (*crmhub.Contact, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Contacts.RemoveTags(ctx, uid, tags)
}

func (r *mutationResolver) AddNote(ctx context.Context, contactID string, body string) (*crmhub.Note, error) {
	uid, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Contacts.AddNote(ctx, uid, body)
}

func (r *mutationResolver) UpdateNote(ctx context.Context, id string, body string) (*crmhub.Note, error) {
	uid, err := crmhub.ParseID(crmhub.KindNote, id)
	if err != nil {
		return nil, err
	}
	return r.Contacts.UpdateNote(ctx, uid, body)
}

func (r *mutationResolver) DeleteNote(ctx context.Context, id string) (string, error) {
	uid, err := crmhub.ParseID(crmhub.KindNote, id)
	if err != nil {
		return "", err
	}
	if err := r.Contacts.DeleteNote(ctx, uid); err != nil {
		return "", err
	}
	return crmhub.GlobalID(crmhub.KindNote, uid), nil
}

// nilIfNotFound turns "there is no such object" into a null field: the
// schema's single-object queries answer null, not an error.
func nilIfNotFound[T any](v *T, err error) (*T, error) {
	if crmhub.ErrorCode(err) == crmhub.ENOTFOUND {
		return nil, nil
	}
	return v, err
}

// FieldSources says who set each field of the contact.
func (r *contactResolver) FieldSources(_ context.Context, obj *crmhub.Contact) ([]*model.FieldSource, error) {
	return fieldSources(obj.FieldSources), nil
}
