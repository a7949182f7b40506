package resolver

import (
	"context"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

func (r *queryResolver) Conversation(ctx context.Context, id string) (*crmhub.Conversation, error) {
	uid, err := crmhub.ParseID(crmhub.KindConversation, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Conversations.Conversation(ctx, uid))
}

func (r *queryResolver) Conversations(ctx context.Context, first *int, after *string, filter *model.ConversationFilter) (*crmhub.ConversationConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	f, err := conversationFilter(filter)
	if err != nil {
		return nil, err
	}
	conn, err := r.Resolver.Conversations.Conversations(ctx, f, n, deref(after))
	if err != nil {
		return nil, err
	}
	r.loadersFor(ctx).addConversations(conversationNodes(conn))
	return conn, nil
}

func conversationFilter(in *model.ConversationFilter) (crmhub.ConversationFilter, error) {
	var f crmhub.ConversationFilter
	if in == nil {
		return f, nil
	}
	f.Status, f.Channel, f.Unanswered = in.Status, in.Channel, in.Unanswered
	var err error
	if f.AssigneeID, err = optionalID(crmhub.KindUser, in.AssigneeID); err != nil {
		return f, fieldNotFound(err, "filter.assigneeId")
	}
	if f.ContactID, err = optionalID(crmhub.KindContact, in.ContactID); err != nil {
		return f, fieldNotFound(err, "filter.contactId")
	}
	return f, nil
}

func (r *queryResolver) Message(ctx context.Context, id string) (*crmhub.Message, error) {
	uid, err := crmhub.ParseID(crmhub.KindMessage, id)
	if err != nil {
		return nil, nil
	}
	return nilIfNotFound(r.Resolver.Conversations.Message(ctx, uid))
}

func (r *queryResolver) UnansweredCount(ctx context.Context, userID *string) (int, error) {
	uid, err := optionalID(crmhub.KindUser, userID)
	if err != nil {
		return 0, nil // no such user has no conversations
	}
	return r.Resolver.Conversations.UnansweredCount(ctx, uid)
}

func (r *contactResolver) Conversations(ctx context.Context, obj *crmhub.Contact, first *int, after *string) (*crmhub.ConversationConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	l := r.loadersFor(ctx)
	conn, err := loadOne(ctx, l, obj, obj.ID, pageArgs{"conversations", n, deref(after)},
		childrenGrouped(pagesOf(r.Resolver.Conversations.ConversationsByContact, n, deref(after)), conversationNodes, l.addConversations))
	if err != nil {
		return nil, err
	}
	if conn == nil {
		conn = &crmhub.ConversationConnection{Edges: []*crmhub.ConversationEdge{}}
	}
	// A copy: the loader hands the same page to every field that asked
	// for it (one contact reached twice in a query), resolved at once.
	page := *conn
	page.Filter = crmhub.ConversationFilter{ContactID: &obj.ID}
	return &page, nil
}

func (r *conversationResolver) Contact(ctx context.Context, obj *crmhub.Conversation) (*crmhub.Contact, error) {
	c, err := loadRef(ctx, r.loadersFor(ctx), obj, func(c *crmhub.Conversation) *uuid.UUID { return &c.ContactID },
		"conversation.contact", r.Contacts.ContactsByIDs)
	if c == nil && err == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "contact not found")
	}
	return c, err
}

func (r *conversationResolver) Assignee(ctx context.Context, obj *crmhub.Conversation) (*crmhub.User, error) {
	return loadRef(ctx, r.loadersFor(ctx), obj, func(c *crmhub.Conversation) *uuid.UUID { return c.AssigneeID },
		"conversation.assignee", r.Users.UsersByIDs)
}

func (r *conversationResolver) Messages(ctx context.Context, obj *crmhub.Conversation, first *int, after *string) (*crmhub.MessageConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	l := r.loadersFor(ctx)
	conn, err := loadOne(ctx, l, obj, obj.ID, pageArgs{"messages", n, deref(after)},
		childrenGrouped(pagesOf(r.Resolver.Conversations.MessagesByConversation, n, deref(after)), messageNodes, l.addMessages))
	if err != nil {
		return nil, err
	}
	if conn == nil {
		conn = &crmhub.MessageConnection{ConversationID: obj.ID, Edges: []*crmhub.MessageEdge{}}
	}
	return conn, nil
}

func (r *messageResolver) Conversation(ctx context.Context, obj *crmhub.Message) (*crmhub.Conversation, error) {
	c, err := loadRef(ctx, r.root.loadersFor(ctx), obj, func(m *crmhub.Message) *uuid.UUID { return &m.ConversationID },
		"message.conversation", r.root.Conversations.ConversationsByIDs)
	if c == nil && err == nil {
		return nil, crmhub.Errorf(crmhub.ENOTFOUND, "conversation not found")
	}
	return c, err
}

func (r *messageResolver) ReplyTo(ctx context.Context, obj *crmhub.Message) (*crmhub.Message, error) {
	return loadRef(ctx, r.root.loadersFor(ctx), obj, func(m *crmhub.Message) *uuid.UUID { return m.ReplyToID },
		"message.replyTo", r.root.Conversations.MessagesByIDs)
}

func (r *mutationResolver) AssignConversation(ctx context.Context, id string, userID *string) (*crmhub.Conversation, error) {
	uid, err := crmhub.ParseID(crmhub.KindConversation, id)
	if err != nil {
		return nil, err
	}
	user, err := optionalID(crmhub.KindUser, userID)
	if err != nil {
		return nil, fieldNotFound(err, "userId")
	}
	return r.Conversations.AssignConversation(ctx, uid, user)
}

func (r *mutationResolver) SetConversationStatus(ctx context.Context, id string, status crmhub.ConversationStatus) (*crmhub.Conversation, error) {
	uid, err := crmhub.ParseID(crmhub.KindConversation, id)
	if err != nil {
		return nil, err
	}
	return r.Conversations.SetConversationStatus(ctx, uid, status)
}

func (r *mutationResolver) SendMessage(ctx context.Context, input model.SendMessageInput) (*crmhub.Message, error) {
	in := crmhub.SendMessageInput{Channel: input.Channel, Type: input.Type, Text: input.Text, ContentURL: input.ContentURL}
	var err error
	if in.ConversationID, err = optionalID(crmhub.KindConversation, input.ConversationID); err != nil {
		return nil, fieldNotFound(err, "input.conversationId")
	}
	if in.ContactID, err = optionalID(crmhub.KindContact, input.ContactID); err != nil {
		return nil, fieldNotFound(err, "input.contactId")
	}
	if in.ReplyToID, err = optionalID(crmhub.KindMessage, input.ReplyToID); err != nil {
		return nil, fieldNotFound(err, "input.replyToId")
	}
	if t := input.Template; t != nil {
		in.Template = &crmhub.Template{Name: t.Name, Language: t.Language, Components: t.Components}
	}
	m, err := r.Conversations.SendMessage(ctx, in)
	return m, inArgAny("input", err)
}

func (r *mutationResolver) RecordInboundMessage(ctx context.Context, input model.InboundMessageInput) (*crmhub.Message, error) {
	conn, err := optionalID(crmhub.KindConnection, input.ConnectionID)
	if err != nil {
		return nil, fieldNotFound(err, "input.connectionId")
	}
	m, err := r.Conversations.RecordInboundMessage(ctx, crmhub.InboundMessageInput{Channel: input.Channel, ChatID: input.ChatID,
		SenderName: input.SenderName, Type: input.Type, Text: input.Text, ContentURL: input.ContentURL,
		ExternalID: input.ExternalID, ReceivedAt: input.ReceivedAt, ConnectionID: conn,
		SenderIdentifiers: identifiers(input.SenderIdentifiers)})
	return m, inArgAny("input", err)
}

func (r *mutationResolver) UpdateMessageStatus(ctx context.Context, id string, status crmhub.MessageStatus, errorCode *string) (*crmhub.Message, error) {
	uid, err := crmhub.ParseID(crmhub.KindMessage, id)
	if err != nil {
		return nil, err
	}
	return r.Conversations.UpdateMessageStatus(ctx, uid, status, errorCode)
}

// inArgAny is inArg for errors of any code that carry a field (a NOT_FOUND
// on input.replyToId, say).
func inArgAny(arg string, err error) error {
	e, ok := err.(*crmhub.Error)
	if !ok || e.Field == "" {
		return err
	}
	return e.WithField(arg)
}
