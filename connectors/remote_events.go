package connectors

import (
	"time"

	"github.com/crmhub/crmhub"
)

// ConversationEvent is a CRM's report about one of its conversations:
// opened, assigned to an agent, resolved or closed.
type ConversationEvent struct {
	// ExternalID is the remote's id of the conversation, the one its
	// message webhooks carry (InboundMessage.ConversationID).
	ExternalID string
	// Channel and ChatID name the contact's chat when the event does (a
	// conversation the hub has not seen yet is then opened); ChatID is ""
	// otherwise.
	Channel     crmhub.Channel
	ChatID      string
	SenderName  *string
	Identifiers []crmhub.Identifier
	// Status, when set, is the conversation's status at the remote.
	Status *crmhub.ConversationStatus
	// Assignee, when set, is the agent it is assigned to.
	Assignee *RemoteUser
}

// CampaignEvent is a CRM's report that a broadcast campaign finished.
type CampaignEvent struct {
	ExternalID  string
	Name        *string
	Stats       map[string]any
	CompletedAt *time.Time
}
