package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
)

func (r *queryResolver) User(ctx context.Context, id string) (*crmhub.User, error) {
	uid, err := crmhub.ParseID(crmhub.KindUser, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Users.User(ctx, uid))
}

func (r *queryResolver) Users(ctx context.Context, first *int, after *string) (*crmhub.UserConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	return r.Resolver.Users.Users(ctx, n, deref(after))
}

func userInputs(in []*model.UserInput) []crmhub.UserInput {
	out := make([]crmhub.UserInput, len(in))
	for i, u := range in {
		if u != nil {
			out[i] = crmhub.UserInput{ExternalID: u.ExternalID, Name: u.Name, Email: u.Email}
		}
	}
	return out
}

func (r *mutationResolver) UpsertUsers(ctx context.Context, input []*model.UserInput) (*model.UpsertUsersPayload, error) {
	res, err := r.Users.UpsertUsers(ctx, userInputs(input))
	if err != nil {
		return nil, err
	}
	out := &model.UpsertUsersPayload{Results: make([]*crmhub.UpsertUserResult, len(res))}
	for i := range res {
		res[i].Errors = orEmpty(res[i].Errors)
		out.Results[i] = &res[i]
	}
	return out, nil
}

func (r *mutationResolver) ReplaceUsers(ctx context.Context, input []*model.UserInput) (*crmhub.ReplaceUsersResult, error) {
	res, err := r.Users.ReplaceUsers(ctx, userInputs(input))
	if err != nil {
		return nil, err
	}
	res.Users = orEmpty(res.Users)
	return res, nil
}

func (r *mutationResolver) DeleteUser(ctx context.Context, id string) (string, error) {
	uid, err := crmhub.ParseID(crmhub.KindUser, id)
	if err != nil {
		return "", err
	}
	if err := r.Users.DeleteUser(ctx, uid); err != nil {
		return "", err
	}
	return crmhub.GlobalID(crmhub.KindUser, uid), nil
}
