package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

func (r *queryResolver) Deal(ctx context.Context, id string) (*crmhub.Deal, error) {
	uid, err := crmhub.ParseID(crmhub.KindDeal, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Deals.Deal(ctx, uid))
}

func (r *queryResolver) Deals(ctx context.Context, first *int, after *string, filter *model.DealFilter) (*crmhub.DealConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	f, err := dealFilter(filter)
	if err != nil {
		return nil, err
	}
	conn, err := r.Resolver.Deals.Deals(ctx, f, n, deref(after))
	if err != nil {
		return nil, err
	}
	r.loadersFor(ctx).addDeals(dealNodes(conn))
	return conn, nil
}

func dealFilter(in *model.DealFilter) (crmhub.DealFilter, error) {
	var f crmhub.DealFilter
	if in == nil {
		return f, nil
	}
	f.Status, f.UpdatedSince = in.Status, in.UpdatedSince
	var err error
	if f.ResponsibleUserID, err = optionalID(crmhub.KindUser, in.ResponsibleUserID); err != nil {
		return f, fieldNotFound(err, "filter.responsibleUserId")
	}
	if f.ContactID, err = optionalID(crmhub.KindContact, in.ContactID); err != nil {
		return f, fieldNotFound(err, "filter.contactId")
	}
	return f, nil
}

func (r *dealConnectionResolver) TotalCount(ctx context.Context, obj *crmhub.DealConnection) (int, error) {
	return r.Deals.CountDeals(ctx, obj.Filter)
}

func (r *dealResolver) ResponsibleUser(ctx context.Context, obj *crmhub.Deal) (*crmhub.User, error) {
	return loadRef(ctx, r.root.loadersFor(ctx), obj, func(d *crmhub.Deal) *uuid.UUID { return d.ResponsibleUserID },
		"deal.responsibleUser", r.root.Users.UsersByIDs)
}

func (r *dealResolver) Contacts(ctx context.Context, obj *crmhub.Deal) ([]*crmhub.Contact, error) {
	l := r.root.loadersFor(ctx)
	fetch := func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*crmhub.Contact, error) {
		links, err := r.root.Deals.ContactIDsByDeal(ctx, ids)
		if err != nil {
			return nil, err
		}
		var all []uuid.UUID
		for _, cs := range links {
			all = append(all, cs...)
		}
		all = unique(all)
		list, err := r.root.Contacts.ContactsByIDs(ctx, all)
		if err != nil {
			return nil, err
		}
		byID := make(map[uuid.UUID]*crmhub.Contact, len(list))
		for _, c := range list {
			if c != nil {
				byID[c.ID] = c
			}
		}
		out := make(map[uuid.UUID][]*crmhub.Contact, len(links))
		for deal, cs := range links {
			for _, cid := range cs {
				if c := byID[cid]; c != nil {
					out[deal] = append(out[deal], c)
				}
			}
		}
		// The contacts of all deals of the group form one group in turn,
		// so their own fields are read once for all of them.
		l.addPage(list)
		return out, nil
	}
	list, err := loadOne(ctx, l, obj, obj.ID, readDealContacts, fetch)
	return orEmpty(list), err
}

func (r *contactResolver) Deals(ctx context.Context, obj *crmhub.Contact, first *int, after *string) (*crmhub.DealConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	l := r.loadersFor(ctx)
	conn, err := loadOne(ctx, l, obj, obj.ID, pageArgs{"deals", n, deref(after)},
		childrenGrouped(pagesOf(r.Resolver.Deals.DealsByContact, n, deref(after)), dealNodes, l.addDeals))
	if err != nil {
		return nil, err
	}
	if conn == nil {
		conn = &crmhub.DealConnection{Edges: []*crmhub.DealEdge{}}
	}
	// A copy: the loader hands the same page to every field that asked
	// for it (one contact reached twice in a query), resolved at once.
	page := *conn
	page.Filter = crmhub.DealFilter{ContactID: &obj.ID}
	return &page, nil
}

func (r *mutationResolver) UpsertDeals(ctx context.Context, input []*model.DealUpsertInput) (*model.UpsertDealsPayload, error) {
	if len(input) > crmhub.MaxBatch {
		return nil, crmhub.TooMany(len(input), crmhub.MaxBatch)
	}
	// An id that does not decode fails its item here, as NOT_FOUND on its
	// field; the other items go to the service.
	out := &model.UpsertDealsPayload{Results: make([]*crmhub.UpsertDealResult, len(input))}
	var send []crmhub.DealUpsertInput
	var index []int
	for i, in := range input {
		it, err := dealInput(in)
		if err != nil {
			out.Results[i] = &crmhub.UpsertDealResult{Index: i, Status: crmhub.UpsertFailed, Errors: []crmhub.ItemError{itemErrorOf(err)}}
			continue
		}
		send = append(send, it)
		index = append(index, i)
	}
	if len(send) > 0 {
		res, err := r.Deals.UpsertDeals(ctx, send)
		if err != nil {
			return nil, err
		}
		for j := range res {
			res[j].Index = index[j]
			res[j].Errors = orEmpty(res[j].Errors)
			out.Results[index[j]] = &res[j]
		}
	}
	var deals []*crmhub.Deal
	for _, res := range out.Results {
		if res.Deal != nil {
			deals = append(deals, res.Deal)
		}
	}
	r.loadersFor(ctx).addDeals(deals)
	return out, nil
}

// dealInput decodes the ids of a deal item; an id of the wrong kind or
// another workspace's fails the item as NOT_FOUND on its field. A
// responsibleUserId given as null clears the user; left out, it stays.
func dealInput(in *model.DealUpsertInput) (crmhub.DealUpsertInput, error) {
	var out crmhub.DealUpsertInput
	if in == nil {
		return out, nil
	}
	out = crmhub.DealUpsertInput{Name: in.Name, Status: in.Status, Amount: in.Amount, Currency: in.Currency, Stage: in.Stage}
	var err error
	if out.ID, err = optionalID(crmhub.KindDeal, in.ID); err != nil {
		return out, fieldNotFound(err, "id")
	}
	if in.ExternalRef != nil {
		out.ExternalRef = &crmhub.ExternalRef{Source: in.ExternalRef.Source, ExternalID: in.ExternalRef.ExternalID}
	}
	user, given := in.ResponsibleUserID.ValueOK()
	if out.ResponsibleUserID, err = optionalID(crmhub.KindUser, user); err != nil {
		return out, fieldNotFound(err, "responsibleUserId")
	}
	out.ClearResponsibleUser = given && user == nil // an explicit null
	if in.ContactIds != nil {
		ids := make([]uuid.UUID, len(in.ContactIds))
		for i, s := range in.ContactIds {
			if ids[i], err = crmhub.ParseID(crmhub.KindContact, s); err != nil {
				return out, fieldNotFound(err, "contactIds["+itoa(i)+"]")
			}
		}
		out.ContactIDs = &ids
	}
	return out, nil
}

func (r *mutationResolver) DeleteDeals(ctx context.Context, ids []string) ([]string, error) {
	return deleteByIDs(ctx, crmhub.KindDeal, ids, r.Deals.DeleteDeals)
}

// FieldSources says who set each field of the deal.
func (r *dealResolver) FieldSources(_ context.Context, obj *crmhub.Deal) ([]*model.FieldSource, error) {
	return fieldSources(obj.FieldSources), nil
}
