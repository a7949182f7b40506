package resolver

import (
	"context"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

func (r *contactResolver) Consents(ctx context.Context, obj *crmhub.Contact) ([]*crmhub.Consent, error) {
	list, err := loadOne(ctx, r.loadersFor(ctx), obj, obj.ID, readConsents, r.Resolver.Consents.ConsentsByContact)
	return orEmpty(list), err
}

func (r *contactResolver) ConsentHistory(ctx context.Context, obj *crmhub.Contact, channel *crmhub.Channel) ([]*crmhub.Consent, error) {
	ch := deref(channel)
	fetch := func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Consent, error) {
		keys := make([]crmhub.ConsentHistoryKey, len(ids))
		for i, id := range ids {
			keys[i] = crmhub.ConsentHistoryKey{ContactID: id, Channel: ch}
		}
		got, err := r.Resolver.Consents.ConsentHistory(ctx, keys)
		out := make(map[uuid.UUID][]*crmhub.Consent, len(got))
		for k, v := range got {
			out[k.ContactID] = v
		}
		return out, err
	}
	list, err := loadOne(ctx, r.loadersFor(ctx), obj, obj.ID, pageArgs{kind: "consentHistory:" + string(ch)}, fetch)
	return orEmpty(list), err
}

func (r *contactResolver) Suppressions(ctx context.Context, obj *crmhub.Contact) ([]*crmhub.Suppression, error) {
	l := r.loadersFor(ctx)
	list, err := loadOne(ctx, l, obj, obj.ID, readSuppressions,
		childrenGrouped(r.Resolver.Consents.SuppressionsByContact, same[[]*crmhub.Suppression], l.addSuppressions))
	return orEmpty(list), err
}

func (r *contactResolver) ResponsibleUser(ctx context.Context, obj *crmhub.Contact) (*crmhub.User, error) {
	return loadRef(ctx, r.loadersFor(ctx), obj, func(c *crmhub.Contact) *uuid.UUID { return c.ResponsibleUserID },
		"contact.responsibleUser", r.Users.UsersByIDs)
}

func (r *suppressionResolver) Contact(ctx context.Context, obj *crmhub.Suppression) (*crmhub.Contact, error) {
	c, err := loadRef(ctx, r.loadersFor(ctx), obj, func(s *crmhub.Suppression) *uuid.UUID { return &s.ContactID },
		"suppression.contact", r.Contacts.ContactsByIDs)
	if c == nil && err == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
	}
	return c, err
}

func (r *suppressionResolver) Active(_ context.Context, obj *crmhub.Suppression) (bool, error) {
	return obj.ActiveAt(r.Clock.Now()), nil
}

func (r *mutationResolver) SetConsent(ctx context.Context, contactID string, channel crmhub.Channel, status crmhub.ConsentStatus,
	source *string, evidence *string, at *time.Time) (*crmhub.Consent, error) {
	id, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Consents.SetConsent(ctx, id, crmhub.ConsentInput{Channel: channel, Status: status, Source: source, Evidence: evidence, At: at})
}

func (r *mutationResolver) SuppressContact(ctx context.Context, contactID string, channel crmhub.Channel, reason string,
	expiresAt *time.Time) (*crmhub.Suppression, error) {
	id, err := crmhub.ParseID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, err
	}
	return r.Consents.SuppressContact(ctx, id, crmhub.SuppressionInput{Channel: channel, Reason: reason, ExpiresAt: expiresAt})
}

func (r *mutationResolver) LiftSuppression(ctx context.Context, id string) (*crmhub.Suppression, error) {
	uid, err := crmhub.ParseID(crmhub.KindSuppression, id)
	if err != nil {
		return nil, err
	}
	return r.Consents.LiftSuppression(ctx, uid)
}

// orEmpty turns a nil list into an empty one: the schema's lists are
// non-null.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
