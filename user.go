package crmhub

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// User is an agent of the workspace: responsible for contacts and deals,
// assigned to conversations. Users come from a CRM and are matched by their
// external id there.
type User struct {
	ID         uuid.UUID
	ExternalID string
	Name       string
	Email      *string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// GlobalID is the user's API id.
func (u *User) GlobalID() string { return GlobalID(KindUser, u.ID) }

// UserInput creates or updates the user with ExternalID.
type UserInput struct {
	ExternalID string
	Name       string
	Email      *string
}

// Limits on users.
const (
	MaxExternalIDLength = 100
	MaxUserNameLength   = 200
	// MaxReplaceUsers is the most users replaceUsers takes.
	MaxReplaceUsers = 1000
)

// UpsertUserResult reports one item of UpsertUsers, in input order.
type UpsertUserResult struct {
	Index  int
	Status UpsertStatus
	User   *User
	Errors []ItemError
}

// ReplaceUsersResult summarises ReplaceUsers.
type ReplaceUsersResult struct {
	Created, Updated, Unchanged, Deleted int
	Users                                []*User
}

// UserEdge is one user of a page.
type UserEdge struct {
	Cursor string
	Node   *User
}

// UserConnection is one page of users, ordered by name then id.
type UserConnection struct {
	Edges    []*UserEdge
	PageInfo PageInfo
}

// UserService manages users. Reads need users:read, writes users:write.
type UserService interface {
	// UpsertUsers creates or updates up to MaxBatch users by external id.
	// ETOOMANY past the limit; items fail independently.
	UpsertUsers(ctx context.Context, in []UserInput) ([]UpsertUserResult, error)
	// ReplaceUsers makes the workspace's users exactly in: missing ones are
	// created, listed ones updated, others deleted (their assignments are
	// cleared). ETOOMANY past MaxReplaceUsers; EINVALID for any bad item or
	// a duplicate external id, writing nothing.
	ReplaceUsers(ctx context.Context, in []UserInput) (*ReplaceUsersResult, error)
	// DeleteUser deletes a user and clears its assignments. ENOTFOUND.
	DeleteUser(ctx context.Context, id uuid.UUID) error
	// User returns one user. ENOTFOUND.
	User(ctx context.Context, id uuid.UUID) (*User, error)
	// UsersByIDs returns users in the order of ids, nil where missing.
	UsersByIDs(ctx context.Context, ids []uuid.UUID) ([]*User, error)
	// Users lists one page. EINVALID for a bad page size or cursor.
	Users(ctx context.Context, first int, after string) (*UserConnection, error)
	// CountUsers counts the workspace's users.
	CountUsers(ctx context.Context) (int, error)
}
