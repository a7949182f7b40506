package resolver

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

func (r *queryResolver) Events(ctx context.Context, first *int, after *string, filter *model.EventFilter) (*crmhub.EventConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	var f crmhub.EventFilter
	if filter != nil {
		f = crmhub.EventFilter{Types: eventTypes(filter.Types), SubjectID: deref(filter.SubjectID)}
	}
	return r.Resolver.Events.Events(ctx, f, n, deref(after))
}

// eventTypes types the event types a client asked for; the services
// validate them.
func eventTypes(types []string) []crmhub.EventType {
	if types == nil {
		return nil
	}
	out := make([]crmhub.EventType, len(types))
	for i, t := range types {
		out[i] = crmhub.EventType(t)
	}
	return out
}

func (r *eventResolver) ID(_ context.Context, obj *crmhub.Event) (string, error) {
	return obj.ID.String(), nil
}

func (r *eventResolver) Payload(_ context.Context, obj *crmhub.Event) (map[string]any, error) {
	out := map[string]any{}
	if len(obj.Payload) > 0 {
		if err := json.Unmarshal(obj.Payload, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Subscriptions. Each follows the event log through the EventService and
// forwards what matches; it ends when the client completes it, the socket
// closes, or the hub drops it. The channel gqlgen reads is unbuffered and
// every send also selects on ctx.Done, so a gone client never blocks the
// forwarding goroutine (and the hub never waits on either).

// subLimitKey carries the websocket's count of live subscriptions.
type subLimitKey struct{}

type subLimit struct {
	n   atomic.Int32
	max int32
}

// withSubLimit starts counting the subscriptions of one socket.
func withSubLimit(ctx context.Context, max int) context.Context {
	return context.WithValue(ctx, subLimitKey{}, &subLimit{max: int32(max)})
}

// acquireSub takes one of the socket's subscription slots; release gives it
// back.
func acquireSub(ctx context.Context) (release func(), err error) {
	l, ok := ctx.Value(subLimitKey{}).(*subLimit)
	if !ok {
		return func() {}, nil
	}
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return nil, crmhub.Errorf(crmhub.ERATELIMITED, "at most %d subscriptions per connection", l.max)
	}
	return func() { l.n.Add(-1) }, nil
}

// forward runs a subscription: for each event, conv returns what to send
// (ok false skips it).
func forward[T any](ctx context.Context, sub crmhub.Subscription, release func(),
	conv func(*crmhub.Event) (T, bool)) <-chan T {
	out := make(chan T)
	go func() {
		defer release()
		defer close(out)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.C():
				if !ok {
					// Ended by the server (a subscriber too slow to keep
					// up, a failed replay): the client gets an error
					// message with the reason instead of a plain complete.
					// Not on shutdown: the socket closes then, and gqlgen
					// may already be reading the errors as its context
					// ends (it reads them without a lock).
					if err := sub.Err(); err != nil && ctx.Err() == nil && err != crmhub.ErrShuttingDown {
						addSubscriptionError(ctx, subscriptionError(err))
					}
					return
				}
				v, send := conv(e)
				if !send {
					continue
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// watch opens a live subscription on behalf of a field needing scope.
func (r *subscriptionResolver) watch(ctx context.Context, scope crmhub.Scope, types []crmhub.EventType, subject string,
	after *string) (crmhub.Subscription, func(), error) {
	release, err := acquireSub(ctx)
	if err != nil {
		return nil, nil, err
	}
	f := crmhub.EventFilter{Types: types, SubjectID: subject}
	var sub crmhub.Subscription
	if after != nil || scope == crmhub.ScopeEventsRead {
		cursor := deref(after)
		if after != nil && cursor == "" {
			// An empty cursor is the log's start, as in the events query;
			// only a missing one means "from now".
			cursor = crmhub.EventCursor(0)
		}
		sub, err = r.Resolver.Events.Subscribe(ctx, f, cursor)
	} else {
		sub, err = r.Resolver.Events.Watch(ctx, scope, f)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return sub, release, nil
}

func (r *subscriptionResolver) Events(ctx context.Context, types []string, after *string) (<-chan *crmhub.Event, error) {
	sub, release, err := r.watch(ctx, crmhub.ScopeEventsRead, eventTypes(types), "", after)
	if err != nil {
		return nil, err
	}
	return passEvents(ctx, sub, release), nil
}

var contactEventTypes = []crmhub.EventType{crmhub.EventContactCreated, crmhub.EventContactUpdated, crmhub.EventContactDeleted,
	crmhub.EventContactMerged, crmhub.EventIdentityLinked, crmhub.EventConsentChanged, crmhub.EventSuppressionChanged}

func (r *subscriptionResolver) ContactChanged(ctx context.Context, id *string) (<-chan *crmhub.Event, error) {
	subject := ""
	if id != nil {
		uid, err := crmhub.ParseID(crmhub.KindContact, *id)
		if err != nil {
			return nil, fieldNotFound(err, "id")
		}
		subject = crmhub.GlobalID(crmhub.KindContact, uid)
	}
	sub, release, err := r.watch(ctx, crmhub.ScopeContactsRead, contactEventTypes, subject, nil)
	if err != nil {
		return nil, err
	}
	return passEvents(ctx, sub, release), nil
}

var messageEventTypes = []crmhub.EventType{crmhub.EventMessageReceived, crmhub.EventMessageSent}

// messageConversation reads the conversation of a message event.
func messageConversation(e *crmhub.Event) (uuid.UUID, bool) {
	p, err := crmhub.DecodePayload[crmhub.MessagePayload](e)
	if err != nil {
		return uuid.Nil, false
	}
	id, err := crmhub.ParseID(crmhub.KindConversation, p.ConversationID)
	return id, err == nil
}

func (r *subscriptionResolver) MessageAdded(ctx context.Context, conversationID *string) (<-chan *crmhub.Message, error) {
	var only *uuid.UUID
	if conversationID != nil {
		id, err := crmhub.ParseID(crmhub.KindConversation, *conversationID)
		if err != nil {
			return nil, fieldNotFound(err, "conversationId")
		}
		only = &id
	}
	sub, release, err := r.watch(ctx, crmhub.ScopeConversationsRead, messageEventTypes, "", nil)
	if err != nil {
		return nil, err
	}
	return forward(ctx, sub, release, func(e *crmhub.Event) (*crmhub.Message, bool) {
		if conv, ok := messageConversation(e); !ok || (only != nil && conv != *only) {
			return nil, false
		}
		id, err := crmhub.ParseID(crmhub.KindMessage, e.SubjectID)
		if err != nil {
			return nil, false
		}
		m, err := r.Conversations.Message(ctx, id)
		return m, err == nil
	}), nil
}

var conversationEventTypes = []crmhub.EventType{crmhub.EventConversationCreated, crmhub.EventConversationAssigned,
	crmhub.EventConversationStatusChanged, crmhub.EventMessageReceived, crmhub.EventMessageSent}

// conversationOf names the conversation an event is about.
func conversationOf(e *crmhub.Event) (uuid.UUID, bool) {
	if slices.Contains(messageEventTypes, e.Type) {
		return messageConversation(e)
	}
	id, err := crmhub.ParseID(crmhub.KindConversation, e.SubjectID)
	return id, err == nil
}

func (r *subscriptionResolver) ConversationUpdated(ctx context.Context, id *string) (<-chan *crmhub.Conversation, error) {
	var only *uuid.UUID
	if id != nil {
		uid, err := crmhub.ParseID(crmhub.KindConversation, *id)
		if err != nil {
			return nil, fieldNotFound(err, "id")
		}
		only = &uid
	}
	sub, release, err := r.watch(ctx, crmhub.ScopeConversationsRead, conversationEventTypes, "", nil)
	if err != nil {
		return nil, err
	}
	return forward(ctx, sub, release, func(e *crmhub.Event) (*crmhub.Conversation, bool) {
		cid, ok := conversationOf(e)
		if !ok || (only != nil && cid != *only) {
			return nil, false
		}
		c, err := r.Conversations.Conversation(ctx, cid)
		return c, err == nil
	}), nil
}

// UnansweredCount sends the count at once and again after every event that
// may change it, skipping repeats of the same number.
func (r *subscriptionResolver) UnansweredCount(ctx context.Context, userID *string) (<-chan int, error) {
	user, err := optionalID(crmhub.KindUser, userID)
	if err != nil {
		return nil, fieldNotFound(err, "userId")
	}
	sub, release, err := r.watch(ctx, crmhub.ScopeConversationsRead, conversationEventTypes[1:], "", nil)
	if err != nil {
		return nil, err
	}
	first, err := r.Conversations.UnansweredCount(ctx, user)
	if err != nil {
		sub.Close()
		release()
		return nil, err
	}
	out := make(chan int)
	last := -1
	counts := forward(ctx, sub, release, func(*crmhub.Event) (int, bool) {
		n, err := r.Conversations.UnansweredCount(ctx, user)
		return n, err == nil
	})
	go func() {
		defer close(out)
		send := func(n int) bool {
			if n == last {
				return true
			}
			select {
			case out <- n:
				last = n
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !send(first) {
			return
		}
		for n := range counts {
			if !send(n) {
				return
			}
		}
	}()
	return out, nil
}
