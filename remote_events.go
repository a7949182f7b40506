package crmhub

import (
	"time"

	"github.com/google/uuid"
)

// CampaignPayload is campaign.completed: a broadcast campaign of an
// external CRM finished sending. Stats are the CRM's own counters, as it
// reported them.
type CampaignPayload struct {
	ConnectionID string         `json:"connectionId"`
	CampaignID   string         `json:"campaignId"`
	Name         *string        `json:"name"`
	Stats        map[string]any `json:"stats,omitempty"`
	CompletedAt  *time.Time     `json:"completedAt,omitempty"`
}

func (CampaignPayload) eventPayload() {}

// Limits of what an external CRM reports.
const (
	// MaxCampaignStats bounds the bytes of a campaign's stats kept.
	MaxCampaignStats = 4 << 10
)

// RemoteConversationInput applies what an external CRM reported about
// one of its conversations (assigned, resolved, opened, closed) to the
// hub conversation it knows by ExternalID.
type RemoteConversationInput struct {
	ConnectionID uuid.UUID
	// ExternalID is the CRM's id of the conversation.
	ExternalID string
	// Channel, ChatID, SenderName and Identifiers name the contact; with
	// a ChatID, a conversation the hub does not know yet is opened (the
	// contact resolved or created like an inbound message's sender);
	// without one it must be known already (ENOTFOUND).
	Channel     Channel
	ChatID      string
	SenderName  *string
	Identifiers []Identifier
	// Status, when set, is the conversation's new status.
	Status *ConversationStatus
	// AssigneeID, when set, is the hub user it is assigned to.
	AssigneeID *uuid.UUID
}
