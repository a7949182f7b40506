package crmhub

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// DealStatus is where a deal stands.
type DealStatus string

// Deal statuses; WON and LOST are closed.
const (
	DealOpen DealStatus = "OPEN"
	DealWon  DealStatus = "WON"
	DealLost DealStatus = "LOST"
)

// DealStatuses lists every status.
var DealStatuses = []DealStatus{DealOpen, DealWon, DealLost}

// ExternalRef names a record in another system.
type ExternalRef struct {
	Source     string
	ExternalID string
}

// Deal is a sales opportunity linked to contacts.
type Deal struct {
	ID                uuid.UUID
	Name              *string
	Status            DealStatus
	Amount            *float64
	Currency          *string
	Stage             *string
	ResponsibleUserID *uuid.UUID
	ExternalRefs      []ExternalRef
	// FieldSources tells who set each field's current value and when.
	FieldSources FieldSources
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ClosedAt     *time.Time
}

// GlobalID is the deal's API id.
func (d *Deal) GlobalID() string { return GlobalID(KindDeal, d.ID) }

// Closed reports whether the deal is won or lost.
func (d *Deal) Closed() bool { return d.Status != DealOpen }

// DealUpsertInput creates or updates a deal matched by ID or ExternalRef.
// Nil fields stay as they are; ContactIDs, when set, replace the links.
type DealUpsertInput struct {
	ID                *uuid.UUID
	ExternalRef       *ExternalRef
	Name              *string
	Status            *DealStatus
	Amount            *float64
	Currency          *string
	Stage             *string
	ResponsibleUserID *uuid.UUID
	// ClearResponsibleUser removes the responsible user.
	ClearResponsibleUser bool
	ContactIDs           *[]uuid.UUID
}

// Limits on deals.
const (
	MaxDealNameLength = 200
	MaxDealStage      = 100
	MaxDealContacts   = 100
)

// UpsertDealResult reports one item of UpsertDeals, in input order.
type UpsertDealResult struct {
	Index  int
	Status UpsertStatus
	Deal   *Deal
	Errors []ItemError
}

// DealFilter narrows a deal listing. Zero values do not filter.
type DealFilter struct {
	Status            *DealStatus
	ResponsibleUserID *uuid.UUID
	ContactID         *uuid.UUID
	UpdatedSince      *time.Time
}

// DealEdge is one deal of a page.
type DealEdge struct {
	Cursor string
	Node   *Deal
}

// DealConnection is one page of deals, newest first. Filter is kept for
// totalCount.
type DealConnection struct {
	Edges    []*DealEdge
	PageInfo PageInfo
	Filter   DealFilter
}

// PageKey asks for one page of something owned by a parent (a contact's
// deals, a conversation's messages).
type PageKey struct {
	ParentID uuid.UUID
	First    int
	After    string
}

// DealService manages deals. Reads need deals:read, writes deals:write.
type DealService interface {
	// UpsertDeals creates or updates up to MaxBatch deals; items fail
	// independently (an unknown id, user or contact fails that item).
	UpsertDeals(ctx context.Context, in []DealUpsertInput) ([]UpsertDealResult, error)
	// DeleteDeals deletes up to MaxBatch deals and returns the ids not found.
	DeleteDeals(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error)
	// Deal returns one deal. ENOTFOUND.
	Deal(ctx context.Context, id uuid.UUID) (*Deal, error)
	// DealsByIDs returns deals in the order of ids, nil where missing.
	DealsByIDs(ctx context.Context, ids []uuid.UUID) ([]*Deal, error)
	// Deals lists one page; CountDeals counts a filter.
	Deals(ctx context.Context, filter DealFilter, first int, after string) (*DealConnection, error)
	CountDeals(ctx context.Context, filter DealFilter) (int, error)
	// ContactIDsByDeal returns each deal's linked contact ids.
	ContactIDsByDeal(ctx context.Context, dealIDs []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error)
	// DealsByContact returns one page of deals per contact (PageKey.ParentID).
	DealsByContact(ctx context.Context, keys []PageKey) (map[PageKey]*DealConnection, error)
}
