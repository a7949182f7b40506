package crmhub

import (
	"encoding/json"
	"time"
)

// The payloads of events, one struct per shape. Their JSON is part of the
// API contract (webhook bodies, Event.payload in queries and
// subscriptions): a field's key, and whether it is null, omitted or
// present, must not change. event_payload_test.go pins them. Ids are the
// API's global ids.

// EventPayload is one of the payload structs of this file. The unexported
// method closes the set, so every event carries a shape the contract
// documents.
type EventPayload interface{ eventPayload() }

// DecodePayload reads the payload of e into P, the struct its type's
// payload is encoded from.
func DecodePayload[P EventPayload](e *Event) (P, error) {
	var p P
	err := json.Unmarshal(e.Payload, &p)
	return p, err
}

// ContactPayload is the contact as a write left it, for contact.created
// and contact.updated.
type ContactPayload struct {
	ID           string         `json:"id"`
	Name         *string        `json:"name"`
	URI          *string        `json:"uri"`
	CustomFields map[string]any `json:"customFields"`
	Tags         []string       `json:"tags"`
	// Changed names the fields an update changed; contact.created has none.
	Changed []string `json:"changed,omitempty"`
	// Identities are those of a contact that the same write created,
	// which always has one; they are absent otherwise.
	Identities []IdentityPayload `json:"identities,omitempty"`
}

// IdentityPayload is one identity of a contact.
type IdentityPayload struct {
	Type   IdentityType `json:"type"`
	Value  string       `json:"value"`
	Source *string      `json:"source"`
}

// IdentityLinkedPayload is an identity a write added to an existing
// contact (identity.linked).
type IdentityLinkedPayload struct {
	ContactID string `json:"contactId"`
	IdentityPayload
}

// NotesChangedPayload is the contact.updated of a note added, edited or
// deleted: Changed is always ["notes"].
type NotesChangedPayload struct {
	ID      string     `json:"id"`
	Changed []string   `json:"changed"`
	Note    NoteChange `json:"note"`
}

// NoteChange names the note of a NotesChangedPayload and what happened to
// it: "added", "updated" or "deleted".
type NoteChange struct {
	ID     string `json:"id"`
	Change string `json:"change"`
}

// DeletedPayload names a deleted contact or deal (contact.deleted,
// deal.deleted).
type DeletedPayload struct {
	ID string `json:"id"`
}

// ContactMergedPayload is contact.merged: the surviving contact, the
// contacts merged into it and what moved.
type ContactMergedPayload struct {
	ID              string   `json:"id"`
	SourceIDs       []string `json:"sourceIds"`
	MovedIdentities int      `json:"movedIdentities"`
	MovedNotes      int      `json:"movedNotes"`
}

// ConsentChangedPayload is consent.changed. PreviousStatus is "" for the
// contact's first consent on the channel.
type ConsentChangedPayload struct {
	ContactID      string        `json:"contactId"`
	Channel        Channel       `json:"channel"`
	Status         ConsentStatus `json:"status"`
	PreviousStatus ConsentStatus `json:"previousStatus"`
	Source         *string       `json:"source"`
	At             time.Time     `json:"at"`
}

// SuppressionChangedPayload is suppression.changed; Change is
// "suppressed" or "lifted".
type SuppressionChangedPayload struct {
	ContactID string     `json:"contactId"`
	ID        string     `json:"id"`
	Channel   Channel    `json:"channel"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expiresAt"`
	Change    string     `json:"change"`
}

// DealPayload is the deal as a write left it, for deal.created and
// deal.updated.
type DealPayload struct {
	ID                string               `json:"id"`
	Name              *string              `json:"name"`
	Status            DealStatus           `json:"status"`
	Amount            *float64             `json:"amount"`
	Currency          *string              `json:"currency"`
	Stage             *string              `json:"stage"`
	ResponsibleUserID *string              `json:"responsibleUserId"`
	ContactIDs        []string             `json:"contactIds"`
	ExternalRefs      []ExternalRefPayload `json:"externalRefs"`
	ClosedAt          *time.Time           `json:"closedAt"`
	// Changed names the fields an update changed; deal.created has none.
	Changed []string `json:"changed,omitempty"`
}

// ExternalRefPayload is one external reference of a deal.
type ExternalRefPayload struct {
	Source     string `json:"source"`
	ExternalID string `json:"externalId"`
}

// ConversationPayload is the conversation as a write left it, for
// conversation.created, conversation.assigned and
// conversation.status_changed.
type ConversationPayload struct {
	ID         string             `json:"id"`
	ContactID  string             `json:"contactId"`
	Channel    Channel            `json:"channel"`
	ChatID     string             `json:"chatId"`
	Status     ConversationStatus `json:"status"`
	Unanswered bool               `json:"unanswered"`
	// AssigneeID is absent, not null, while nobody is assigned.
	AssigneeID *string `json:"assigneeId,omitempty"`
	// PreviousStatus is set on conversation.status_changed only.
	PreviousStatus ConversationStatus `json:"previousStatus,omitempty"`
}

// MessagePayload is the message as a write left it, for message.received,
// message.sent and message.status_changed.
type MessagePayload struct {
	ID             string        `json:"id"`
	ConversationID string        `json:"conversationId"`
	Direction      Direction     `json:"direction"`
	Type           MessageType   `json:"type"`
	Text           *string       `json:"text"`
	ContentURL     *string       `json:"contentUrl"`
	Status         MessageStatus `json:"status"`
	// ErrorCode is absent, not null, while the message has none.
	ErrorCode *string `json:"errorCode,omitempty"`
	// PreviousStatus is set on message.status_changed only.
	PreviousStatus MessageStatus `json:"previousStatus,omitempty"`
}

// UserPayload is user.upserted: the user as the write left it.
type UserPayload struct {
	ID         string  `json:"id"`
	ExternalID string  `json:"externalId"`
	Name       string  `json:"name"`
	Email      *string `json:"email"`
	Created    bool    `json:"created"`
	// Changed names the fields an update changed; a new user has none.
	Changed []string `json:"changed,omitempty"`
}

// UserDeletedPayload is user.deleted.
type UserDeletedPayload struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
}

// SyncCompletedPayload is sync.completed: how a run ended.
type SyncCompletedPayload struct {
	ID           string        `json:"id"`
	ConnectionID string        `json:"connectionId"`
	Mode         SyncMode      `json:"mode"`
	DryRun       bool          `json:"dryRun"`
	Status       SyncRunStatus `json:"status"`
	Stats        SyncStats     `json:"stats"`
}

// SyncRecordGonePayload is sync.record_gone; Action is "unlinked" or
// "deleted".
type SyncRecordGonePayload struct {
	ConnectionID string     `json:"connectionId"`
	Entity       SyncEntity `json:"entity"`
	ExternalID   string     `json:"externalId"`
	SubjectID    string     `json:"subjectId"`
	Action       string     `json:"action"`
}

// IdentityConflictPayload is identity.conflict: the conflict, the record
// it is about and the contacts its identifiers belong to.
type IdentityConflictPayload struct {
	ID           string   `json:"id"`
	ConnectionID string   `json:"connectionId"`
	ExternalID   string   `json:"externalId"`
	CandidateIDs []string `json:"candidateIds"`
}

func (ContactPayload) eventPayload()            {}
func (IdentityLinkedPayload) eventPayload()     {}
func (NotesChangedPayload) eventPayload()       {}
func (DeletedPayload) eventPayload()            {}
func (ContactMergedPayload) eventPayload()      {}
func (ConsentChangedPayload) eventPayload()     {}
func (SuppressionChangedPayload) eventPayload() {}
func (DealPayload) eventPayload()               {}
func (ConversationPayload) eventPayload()       {}
func (MessagePayload) eventPayload()            {}
func (UserPayload) eventPayload()               {}
func (UserDeletedPayload) eventPayload()        {}
func (SyncCompletedPayload) eventPayload()      {}
func (SyncRecordGonePayload) eventPayload()     {}
func (IdentityConflictPayload) eventPayload()   {}
