package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
)

func (r *queryResolver) APIKeys(ctx context.Context) ([]*crmhub.APIKey, error) {
	return r.Resolver.APIKeys.APIKeys(ctx)
}

func (r *apiKeyResolver) Scopes(_ context.Context, obj *crmhub.APIKey) ([]string, error) {
	return scopeNames(obj.Scopes), nil
}

// CreateAPIKey returns the new key with its secret; this is the only
// response that ever carries a secret.
func (r *mutationResolver) CreateAPIKey(ctx context.Context, name string, scopes []string) (*model.APIKeyWithSecret, error) {
	parsed, err := crmhub.ParseScopes(scopes)
	if err != nil {
		return nil, err
	}
	key, secret, err := r.APIKeys.CreateAPIKey(ctx, name, parsed)
	if err != nil {
		return nil, err
	}
	return &model.APIKeyWithSecret{APIKey: key, Secret: secret}, nil
}

func (r *mutationResolver) RevokeAPIKey(ctx context.Context, id string) (*crmhub.APIKey, error) {
	uid, err := crmhub.ParseID(crmhub.KindAPIKey, id)
	if err != nil {
		return nil, err
	}
	return r.APIKeys.RevokeAPIKey(ctx, uid)
}
