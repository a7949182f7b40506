package wazzup

import (
	"context"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// User is a CRM employee (manager, support, ...) known to Wazzup, not a
// customer. The id is a string of up to 64 characters or an integer, the
// name up to 150 characters.
type User struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// ListUsers returns every user of the integration (GET /v2/users); the
// document gives this route no pagination.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var users []User
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/v2/users", Out: &users})
	return users, err
}

// GetUser returns one user (GET /v2/users/{id}).
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	return getByID[User](ctx, c, "/v2/users", id)
}

// UpsertUsers adds users or renames existing ones, matched by id
// (PATCH /v2/users), up to MaxBatch at a time.
func (c *Client) UpsertUsers(ctx context.Context, users []User) error {
	return c.writeUsers(ctx, "PATCH", users, MaxBatch)
}

// ReplaceUsers replaces the whole user list with users (PUT /v2/users),
// up to MaxReplaceUsers. An empty list is sent as is: it removes every
// user.
func (c *Client) ReplaceUsers(ctx context.Context, users []User) error {
	if users == nil {
		users = []User{}
	}
	return c.writeUsers(ctx, "PUT", users, MaxReplaceUsers)
}

func (c *Client) writeUsers(ctx context.Context, method string, users []User, limit int) error {
	if method == "PATCH" && len(users) == 0 {
		return nil
	}
	if err := checkBatch(method+" users", len(users), limit); err != nil {
		return err
	}
	err := c.http.Do(ctx, httpclient.Request{Method: method, Path: "/v2/users", In: users})
	return nameItems(err, func(i int) string { return string(users[i].ID) }, len(users))
}

// DeleteUser deletes one user (DELETE /v2/users/{id}).
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	return c.deleteByID(ctx, "/v2/users", id)
}
