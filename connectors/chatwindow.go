package connectors

import (
	"context"

	"github.com/crmhub/crmhub"
)

// ChatWindow is optional: a connector whose CRM offers an embeddable chat
// window (Wazzup's POST /v2/iframe) implements it.
type ChatWindow interface {
	// ChatWindowURL asks the CRM for a window URL. A request the CRM
	// cannot serve (no chat of the contact it can show) is a
	// *crmhub.Error coded EINVALID.
	ChatWindowURL(ctx context.Context, req ChatWindowRequest) (string, error)
}

// ChatWindowRequest is a chat window request in domain terms.
type ChatWindowRequest struct {
	// UserID and UserName are the CRM user opening the window: the hub
	// user's external id and name, as a UserSyncer pushes them.
	UserID, UserName string
	// Contact, when set, scopes the window to the contact's chats.
	Contact *ChatWindowContact
	// ActiveChannel picks the contact's chat to open first.
	ActiveChannel *crmhub.Channel
}

// ChatWindowContact is the contact a window is scoped to.
type ChatWindowContact struct {
	Name        string
	Identifiers []crmhub.Identifier
}
