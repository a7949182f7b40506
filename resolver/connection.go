package resolver

import (
	"context"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

func (r *queryResolver) Connection(ctx context.Context, id string) (*crmhub.Connection, error) {
	uid, err := crmhub.ParseID(crmhub.KindConnection, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Connections.Connection(ctx, uid))
}

func (r *queryResolver) Connections(ctx context.Context, first *int, after *string) (*crmhub.ConnectionConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	return r.Resolver.Connections.Connections(ctx, n, deref(after))
}

func (r *connectionResolver) ScheduleMinutes(_ context.Context, obj *crmhub.Connection) (int, error) {
	return int(obj.Schedule / time.Minute), nil
}

// SyncRuns reads the runs of each connection on its own: a workspace has
// few connections.
func (r *connectionResolver) SyncRuns(ctx context.Context, obj *crmhub.Connection, first *int, after *string) (*crmhub.SyncRunConnection, error) {
	return r.syncRuns(ctx, &obj.ID, first, after)
}

func (r *mutationResolver) CreateConnection(ctx context.Context, input model.ConnectionInput) (*crmhub.Connection, error) {
	c, err := r.Connections.CreateConnection(ctx, connectionInput(input))
	return c, inArg("input", err)
}

func (r *mutationResolver) UpdateConnection(ctx context.Context, id string, input model.ConnectionPatch) (*crmhub.Connection, error) {
	uid, err := crmhub.ParseID(crmhub.KindConnection, id)
	if err != nil {
		return nil, err
	}
	c, err := r.Connections.UpdateConnection(ctx, uid, connectionPatch(input))
	return c, inArg("input", err)
}

func (r *mutationResolver) DeleteConnection(ctx context.Context, id string) (*crmhub.Connection, error) {
	uid, err := crmhub.ParseID(crmhub.KindConnection, id)
	if err != nil {
		return nil, err
	}
	return r.Connections.DeleteConnection(ctx, uid)
}

func connectionInput(in model.ConnectionInput) crmhub.ConnectionInput {
	out := crmhub.ConnectionInput{Kind: in.Kind, Name: in.Name, BaseURL: in.BaseURL, APIKey: in.APIKey,
		Direction: deref(in.Direction), Entities: in.Entities, Options: in.Options, Enabled: in.Enabled,
		RateLimit: deref(in.RateLimitPerMinute), ConflictPolicy: deref(in.ConflictPolicy)}
	if in.ScheduleMinutes != nil {
		out.Schedule = minutes(*in.ScheduleMinutes)
	}
	return out
}

// connectionPatch keeps an empty entity list (refused by the service)
// apart from one left out; gqlgen decodes the former to an empty slice.
func connectionPatch(in model.ConnectionPatch) crmhub.ConnectionPatch {
	p := crmhub.ConnectionPatch{Name: in.Name, BaseURL: in.BaseURL, APIKey: in.APIKey, Direction: in.Direction,
		Entities: in.Entities, Options: in.Options, Enabled: in.Enabled, RateLimit: in.RateLimitPerMinute,
		ConflictPolicy: in.ConflictPolicy}
	if in.ScheduleMinutes != nil {
		d := minutes(*in.ScheduleMinutes)
		p.Schedule = &d
	}
	return p
}

// minutes turns a count of minutes into a duration. Counts too large (or
// too negative) for a duration become one just out of range, which the
// service refuses as it refuses any schedule out of range.
func minutes(n int) time.Duration {
	limit := int(crmhub.MaxSyncSchedule / time.Minute)
	n = min(max(n, -1), limit+1)
	return time.Duration(n) * time.Minute
}

// Channels reads each connection's channels on its own, as SyncRuns does.
func (r *connectionResolver) Channels(ctx context.Context, obj *crmhub.Connection) ([]*crmhub.ConnectionChannel, error) {
	chans, err := r.Connections.ChannelsByConnection(ctx, []uuid.UUID{obj.ID})
	if err != nil {
		return nil, err
	}
	if chans[obj.ID] == nil {
		return []*crmhub.ConnectionChannel{}, nil
	}
	return chans[obj.ID], nil
}

func (r *connectionResolver) WebhookPath(_ context.Context, obj *crmhub.Connection) (string, error) {
	return crmhub.HookPath(obj.ID), nil
}

func (r *mutationResolver) SetConnectionWebhookSecret(ctx context.Context, id string, secret *string) (string, error) {
	uid, err := crmhub.ParseID(crmhub.KindConnection, id)
	if err != nil {
		return "", err
	}
	return r.Connections.SetWebhookSecret(ctx, uid, secret)
}

func (r *conversationResolver) Connection(ctx context.Context, obj *crmhub.Conversation) (*crmhub.Connection, error) {
	if obj.ConnectionID == nil {
		return nil, nil
	}
	return loadRef(ctx, r.loadersFor(ctx), obj, func(c *crmhub.Conversation) *uuid.UUID { return c.ConnectionID },
		"conversation.connection", r.Connections.ConnectionsByIDs)
}

// ChatWindowURL is null for a CRM without a chat window, and when the
// server runs without a chat window service.
func (r *connectionResolver) ChatWindowURL(ctx context.Context, obj *crmhub.Connection, userID string, contactID *string,
	activeChannel *crmhub.Channel) (*string, error) {
	user, err := crmhub.ParseID(crmhub.KindUser, userID)
	if err != nil {
		return nil, fieldNotFound(err, "userId")
	}
	contact, err := optionalID(crmhub.KindContact, contactID)
	if err != nil {
		return nil, fieldNotFound(err, "contactId")
	}
	if r.ChatWindows == nil {
		return nil, nil
	}
	return r.ChatWindows.ChatWindowURL(ctx, obj.ID, crmhub.ChatWindowInput{UserID: user, ContactID: contact, ActiveChannel: activeChannel})
}
