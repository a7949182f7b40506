package crmhub

import (
	"context"

	"github.com/google/uuid"
)

// ChatWindowInput asks for the chat window of a connection's CRM: the
// window as UserID sees it, showing every chat (global) or, with
// ContactID, only the contact's chats (the window of a contact card),
// ActiveChannel's chat open first.
type ChatWindowInput struct {
	UserID        uuid.UUID
	ContactID     *uuid.UUID
	ActiveChannel *Channel
}

// ChatWindowService opens the embeddable chat window some CRMs offer
// (Wazzup's iframe), for a CRM user interface built on the hub.
type ChatWindowService interface {
	// ChatWindowURL returns the window's URL, to load in an iframe; nil
	// when the connection's CRM offers no chat window. It needs
	// conversations:read. ENOTFOUND (field connectionId, userId or
	// contactId); EINVALID when the contact has no chat the CRM can show.
	ChatWindowURL(ctx context.Context, connectionID uuid.UUID, in ChatWindowInput) (*string, error)
}
