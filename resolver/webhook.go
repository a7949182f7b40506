package resolver

import (
	"context"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

// defaultSecretGrace is how long a rotated-out secret keeps signing when
// the client does not say.
const defaultSecretGrace = 24 * time.Hour

func (r *queryResolver) WebhookEndpoint(ctx context.Context, id string) (*crmhub.WebhookEndpoint, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookEndpoint, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Webhooks.WebhookEndpoint(ctx, uid))
}

func (r *queryResolver) WebhookEndpoints(ctx context.Context, first *int, after *string) (*crmhub.WebhookEndpointConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	return r.Webhooks.WebhookEndpoints(ctx, n, deref(after))
}

func (r *queryResolver) WebhookDeliveries(ctx context.Context, endpointID *string, first *int, after *string) (*crmhub.WebhookDeliveryConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	ep, err := optionalID(crmhub.KindWebhookEndpoint, endpointID)
	if err != nil {
		return nil, fieldNotFound(err, "endpointId")
	}
	return r.Webhooks.WebhookDeliveries(ctx, ep, n, deref(after))
}

func (r *webhookDeliveryResolver) Endpoint(ctx context.Context, obj *crmhub.WebhookDelivery) (*crmhub.WebhookEndpoint, error) {
	return loadRef(ctx, r.loadersFor(ctx), obj, func(d *crmhub.WebhookDelivery) *uuid.UUID { return &d.EndpointID },
		"delivery.endpoint", func(ctx context.Context, ids []uuid.UUID) ([]*crmhub.WebhookEndpoint, error) {
			out := make([]*crmhub.WebhookEndpoint, len(ids))
			for i, id := range ids { // a handful per page: endpoints are few
				ep, err := r.Webhooks.WebhookEndpoint(ctx, id)
				if err != nil && crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
					return nil, err
				}
				out[i] = ep
			}
			return out, nil
		})
}

func (r *mutationResolver) CreateWebhookEndpoint(ctx context.Context, url string, events []string, description *string) (*model.WebhookEndpointWithSecret, error) {
	ep, secret, err := r.Webhooks.CreateWebhookEndpoint(ctx, url, events, description)
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointWithSecret{Endpoint: ep, Secret: secret}, nil
}

func (r *mutationResolver) UpdateWebhookEndpoint(ctx context.Context, id string, input model.WebhookEndpointPatch) (*crmhub.WebhookEndpoint, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookEndpoint, id)
	if err != nil {
		return nil, err
	}
	ep, err := r.Webhooks.UpdateWebhookEndpoint(ctx, uid, crmhub.WebhookEndpointPatch{URL: input.URL, Events: input.Events,
		Description: input.Description, Enabled: input.Enabled})
	return ep, inArg("input", err)
}

func (r *mutationResolver) DeleteWebhookEndpoint(ctx context.Context, id string) (string, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookEndpoint, id)
	if err != nil {
		return "", err
	}
	if _, err := r.Webhooks.DeleteWebhookEndpoint(ctx, uid); err != nil {
		return "", err
	}
	return crmhub.GlobalID(crmhub.KindWebhookEndpoint, uid), nil
}

func (r *mutationResolver) RotateWebhookSecret(ctx context.Context, id string, graceSeconds *int) (*model.WebhookEndpointWithSecret, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookEndpoint, id)
	if err != nil {
		return nil, err
	}
	grace := defaultSecretGrace
	if graceSeconds != nil {
		grace = time.Duration(*graceSeconds) * time.Second
	}
	secret, err := r.Webhooks.RotateWebhookSecret(ctx, uid, grace)
	if err != nil {
		if e, ok := err.(*crmhub.Error); ok && e.Field == "grace" {
			c := *e
			c.Field = "graceSeconds"
			return nil, &c
		}
		return nil, err
	}
	ep, err := r.Webhooks.WebhookEndpoint(ctx, uid)
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointWithSecret{Endpoint: ep, Secret: secret}, nil
}

func (r *mutationResolver) ReplayWebhookDelivery(ctx context.Context, id string) (*crmhub.WebhookDelivery, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookDelivery, id)
	if err != nil {
		return nil, err
	}
	return r.Webhooks.ReplayWebhookDelivery(ctx, uid)
}

func (r *mutationResolver) SendTestWebhook(ctx context.Context, endpointID string) (*crmhub.WebhookDelivery, error) {
	uid, err := crmhub.ParseID(crmhub.KindWebhookEndpoint, endpointID)
	if err != nil {
		return nil, err
	}
	return r.Webhooks.SendTestWebhook(ctx, uid)
}
