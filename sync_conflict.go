package crmhub

import (
	"time"

	"github.com/google/uuid"
)

// SyncLink ties a remote record to its hub record, for one connection
// and entity.
type SyncLink struct {
	ExternalID string
	LocalID    uuid.UUID
	// Fingerprint hashes the remote record as last pulled or pushed: an
	// equal hash means the record has not changed since.
	Fingerprint []byte
	// Base is what both sides agreed on at the end of the last run that
	// wrote the link, per field in hub terms (name, responsibleUser,
	// customFields.<key>, ...) as JSON text: the third side of the
	// three-way comparison that finds fields changed on both sides. Nil
	// when unknown; saving a link without one keeps the stored base.
	Base map[string]string
}

// ConflictStatus is where an identity conflict is.
type ConflictStatus string

// Conflict statuses.
const (
	ConflictOpen     ConflictStatus = "OPEN"
	ConflictResolved ConflictStatus = "RESOLVED"
)

// ConflictResolution is how a conflict was resolved.
type ConflictResolution string

// Resolutions: MERGE merges the candidates into the chosen contact, so the
// record's identifiers all point at it; PICK links the record to the
// chosen contact and leaves identifiers owned by the others with them.
const (
	ResolveMerge ConflictResolution = "MERGE"
	ResolvePick  ConflictResolution = "PICK"
)

// IdentityConflict is a pulled record whose identifiers belong to
// different hub contacts. It is never merged silently: an operator
// resolves it.
type IdentityConflict struct {
	ID           uuid.UUID
	ConnectionID uuid.UUID
	Entity       SyncEntity
	// ExternalID is the remote's id of the record.
	ExternalID string
	// Identifiers are those the record carries (its EXTERNAL_ID first).
	Identifiers []Identifier
	// Candidates are the hub contacts the identifiers point at.
	Candidates []uuid.UUID
	Status     ConflictStatus
	Resolution *ConflictResolution
	// ContactID is the contact the resolution chose.
	ContactID  *uuid.UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt *time.Time
}

// GlobalID is the conflict's API id.
func (c *IdentityConflict) GlobalID() string { return GlobalID(KindIdentityConflict, c.ID) }

// IdentityConflictEdge is one conflict of a page.
type IdentityConflictEdge struct {
	Cursor string
	Node   *IdentityConflict
}

// IdentityConflictConnection is one page of conflicts, newest first.
type IdentityConflictConnection struct {
	Edges    []*IdentityConflictEdge
	PageInfo PageInfo
	// Status is the status listed, nil for all (for totalCount).
	Status *ConflictStatus
}
