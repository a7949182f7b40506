package resolver_test

import (
	"fmt"
	"slices"
	"testing"
)

func userStatuses(rs []userResult) string {
	return itemStatuses(rs, func(r userResult) (int, string) { return r.Index, r.Status })
}

func TestUpsertUsers(t *testing.T) {
	c := newEnv(t).workspace()
	items := []map[string]any{
		userInput("u1", "Ann"),
		{"externalId": "u2", "name": "Bob", "email": " Bob@Example.com "},
		userInput("u3", "Cid"),
	}
	first := c.upsertUsers(items...)
	if got := userStatuses(first); got != "CREATED,CREATED,CREATED" {
		t.Fatalf("first upsert = %s", got)
	}
	if u := first[1].User; u.ExternalID != "u2" || u.Name != "Bob" || deref(u.Email) != "bob@example.com" {
		t.Errorf("user = %+v", u)
	}
	again := c.upsertUsers(items...)
	if got := userStatuses(again); got != "UNCHANGED,UNCHANGED,UNCHANGED" {
		t.Fatalf("re-sent upsert = %s", got)
	}
	for i := range again {
		if again[i].User.ID != first[i].User.ID {
			t.Errorf("item %d matched another user", i)
		}
	}
	items[2] = userInput("u3", "Cid Renamed")
	items[1] = userInput("u2", "Bob") // no email any more
	res := c.upsertUsers(items...)
	if got := userStatuses(res); got != "UNCHANGED,UPDATED,UPDATED" {
		t.Fatalf("changed upsert = %s", got)
	}
	if res[1].User.Email != nil || res[2].User.Name != "Cid Renamed" {
		t.Errorf("updated users = %+v %+v", res[1].User, res[2].User)
	}

	// Items fail alone.
	res = c.upsertUsers(userInput("u4", "Dee"), userInput("u4", "Dee again"), userInput("u5", " "),
		map[string]any{"externalId": "u6", "name": "Eve", "email": "not an email"})
	if got := userStatuses(res); got != "CREATED,FAILED,FAILED,FAILED" {
		t.Fatalf("mixed upsert = %s", got)
	}
	for i, field := range []string{"", "externalId", "name", "email"} {
		if i > 0 && (len(res[i].Errors) != 1 || res[i].Errors[0].Code != "VALIDATION_ERROR" || res[i].Errors[0].Field != field ||
			res[i].User != nil) {
			t.Errorf("item %d = %+v, want a VALIDATION_ERROR on %s", i, res[i], field)
		}
	}
	if names := c.userNames(); !slices.Equal(names, []string{"Ann", "Bob", "Cid Renamed", "Dee"}) {
		t.Errorf("users = %v", names)
	}
}

func TestUserBatchLimits(t *testing.T) {
	c := newEnv(t).workspace()
	c.newUser("keep", "Keeper")
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = userInput(fmt.Sprintf("x%d", i), "X")
	}
	dup := []map[string]any{userInput("a", "A"), userInput("b", "B"), userInput(" a ", "A again")}
	replace := `mutation($input: [UserInput!]!) { replaceUsers(input: $input) { deleted } }`
	thousand := make([]map[string]any, 1001)
	for i := range thousand {
		thousand[i] = userInput(fmt.Sprintf("y%d", i), "Y")
	}
	runErrorCases(t, c, []errorCase{
		{"upsertUsers: 101 items", upsertUsersMutation, map[string]any{"input": many}, "TOO_MANY_ENTITIES", "-"},
		{"replaceUsers: duplicate externalIds", replace, map[string]any{"input": dup}, "VALIDATION_ERROR", "input[2].externalId"},
		{"replaceUsers: an invalid user", replace, map[string]any{"input": []any{userInput("a", "")}}, "VALIDATION_ERROR", "input[0].name"},
		{"replaceUsers: 1,001 items", replace, map[string]any{"input": thousand}, "TOO_MANY_ENTITIES", "-"},
	})
	e := c.fail(upsertUsersMutation, map[string]any{"input": many}, "TOO_MANY_ENTITIES")
	if e.Extensions["count"] != float64(101) || e.Extensions["limit"] != float64(100) {
		t.Errorf("extensions = %v", e.Extensions)
	}
	e = c.fail(replace, map[string]any{"input": thousand}, "TOO_MANY_ENTITIES")
	if e.Extensions["count"] != float64(1001) || e.Extensions["limit"] != float64(1000) {
		t.Errorf("extensions = %v", e.Extensions)
	}
}

// assignments is what points at users: a contact's and a deal's
// responsible user and a conversation's assignee.
type assignments struct {
	Contact      struct{ ResponsibleUser *struct{ ID string } }
	Other        struct{ ResponsibleUser *struct{ ID string } }
	Deal         struct{ ResponsibleUser *struct{ ID string } }
	Conversation struct{ Assignee *struct{ ID string } }
}

const assignmentsQuery = `query($contact: ID!, $other: ID!, $deal: ID!, $conv: ID!) {
	contact(id: $contact) { responsibleUser { id } }
	other: contact(id: $other) { responsibleUser { id } }
	deal(id: $deal) { responsibleUser { id } }
	conversation(id: $conv) { assignee { id } } }`

// assignedFixture makes a contact, a deal and a conversation assigned to
// user, and another contact assigned to keep; it returns the query vars.
func assignedFixture(c *client, user, keep string) map[string]any {
	c.t.Helper()
	var created struct{ CreateContact struct{ ID string } }
	c.do(`mutation($in: ContactInput!) { createContact(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Assigned", "identifiers": []any{ident("EMAIL", "assigned@example.com")}, "responsibleUserId": user}}, &created)
	other := c.createContact("Kept", ident("EMAIL", "kept@example.com"))
	c.update(other.ID, map[string]any{"responsibleUserId": keep})
	d := c.newDeal(map[string]any{"name": "Deal", "responsibleUserId": user})
	m := c.inbound("WHATSAPP", "+14155552671", "hello", nil)
	c.do(`mutation($id: ID!, $u: ID) { assignConversation(id: $id, userId: $u) { id } }`,
		map[string]any{"id": m.Conversation.ID, "u": user}, nil)
	vars := map[string]any{"contact": created.CreateContact.ID, "other": other.ID, "deal": d.ID, "conv": m.Conversation.ID}
	var a assignments
	c.do(assignmentsQuery, vars, &a)
	if a.Contact.ResponsibleUser == nil || a.Contact.ResponsibleUser.ID != user || a.Deal.ResponsibleUser == nil ||
		a.Conversation.Assignee == nil || a.Other.ResponsibleUser == nil || a.Other.ResponsibleUser.ID != keep {
		c.t.Fatalf("assignments were not made: %+v", a)
	}
	return vars
}

// checkCleared asserts that the assignments to the removed user are gone
// and the other contact keeps its user.
func checkCleared(t *testing.T, c *client, vars map[string]any, keep string) {
	t.Helper()
	var a assignments
	c.do(assignmentsQuery, vars, &a)
	if a.Contact.ResponsibleUser != nil || a.Deal.ResponsibleUser != nil || a.Conversation.Assignee != nil {
		t.Errorf("assignments of a removed user remain: %+v", a)
	}
	if a.Other.ResponsibleUser == nil || a.Other.ResponsibleUser.ID != keep {
		t.Errorf("the kept user's contact lost it: %+v", a.Other)
	}
}

func TestReplaceUsers(t *testing.T) {
	c := newEnv(t).workspace()
	u1, u2 := c.newUser("u1", "Ann"), c.newUser("u2", "Bob")
	c.newUser("u3", "Cid")
	vars := assignedFixture(c, u2, u1)

	var out struct {
		ReplaceUsers struct {
			Created, Updated, Unchanged, Deleted int
			Users                                []user
		}
	}
	c.do(`mutation($input: [UserInput!]!) { replaceUsers(input: $input) { created updated unchanged deleted
		users { id externalId name email } } }`, map[string]any{"input": []any{
		userInput("u1", "Ann"), userInput("u3", "Cid Renamed"), userInput("u4", "Dee")}}, &out)
	r := out.ReplaceUsers
	if r.Created != 1 || r.Updated != 1 || r.Unchanged != 1 || r.Deleted != 1 || len(r.Users) != 3 ||
		r.Users[0].ID != u1 || r.Users[1].Name != "Cid Renamed" || r.Users[2].ExternalID != "u4" {
		t.Fatalf("replaceUsers = %+v", r)
	}
	if names := c.userNames(); !slices.Equal(names, []string{"Ann", "Cid Renamed", "Dee"}) {
		t.Errorf("users after replace = %v", names)
	}
	checkCleared(t, c, vars, u1)
	var gone struct{ User *user }
	c.do(`query($id: ID!) { user(id: $id) { id } }`, map[string]any{"id": u2}, &gone)
	if gone.User != nil {
		t.Errorf("removed user still readable: %+v", gone.User)
	}

	// An empty list removes everyone.
	c.do(`mutation { replaceUsers(input: []) { deleted } }`, nil, &out)
	if out.ReplaceUsers.Deleted != 3 || len(c.userNames()) != 0 {
		t.Errorf("replaceUsers([]) deleted %d, left %v", out.ReplaceUsers.Deleted, c.userNames())
	}
}

func TestDeleteUser(t *testing.T) {
	c := newEnv(t).workspace()
	keep, u := c.newUser("keep", "Keeper"), c.newUser("gone", "Goner")
	vars := assignedFixture(c, u, keep)
	del := `mutation($id: ID!) { deleteUser(id: $id) }`
	var out struct{ DeleteUser string }
	c.do(del, map[string]any{"id": u}, &out)
	if out.DeleteUser != u {
		t.Fatalf("deleteUser = %q", out.DeleteUser)
	}
	checkCleared(t, c, vars, keep)
	if names := c.userNames(); !slices.Equal(names, []string{"Keeper"}) {
		t.Errorf("users = %v", names)
	}
	runErrorCases(t, c, []errorCase{
		{"deleted twice", del, map[string]any{"id": u}, "NOT_FOUND", "-"},
		{"malformed id", del, map[string]any{"id": "usr_x"}, "NOT_FOUND", "-"},
		{"a contact id", del, map[string]any{"id": vars["contact"]}, "NOT_FOUND", "-"},
	})
}

func TestUsersPaging(t *testing.T) {
	c := newEnv(t).workspace()
	items := make([]map[string]any, 25)
	for i := range items {
		items[i] = userInput(fmt.Sprintf("ext%02d", i), fmt.Sprintf("User %02d", 24-i))
	}
	c.upsertUsers(items...)
	var names []string
	var after any
	for pages := 1; ; pages++ {
		var p struct {
			Users struct {
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct {
					Cursor string
					Node   user
				}
			}
		}
		c.do(`query($after: String) { users(first: 10, after: $after) { pageInfo { hasNextPage endCursor }
			edges { cursor node { id name externalId } } } }`, map[string]any{"after": after}, &p)
		for _, e := range p.Users.Edges {
			names = append(names, e.Node.Name)
		}
		if !p.Users.PageInfo.HasNextPage {
			if pages != 3 {
				t.Errorf("%d pages for 25 users of 10", pages)
			}
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		after = *p.Users.PageInfo.EndCursor
	}
	if len(names) != 25 || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != 25 {
		t.Fatalf("paged users = %v", names)
	}
	c.fail(`{ users(first: 101) { edges { cursor } } }`, nil, "VALIDATION_ERROR", "first")
	c.fail(`{ users(after: "garbage") { edges { cursor } } }`, nil, "VALIDATION_ERROR", "after")
}

// userNames lists the workspace's user names in the API's order.
func (c *client) userNames() []string {
	c.t.Helper()
	var p struct {
		Users struct{ Edges []struct{ Node user } }
	}
	c.do(`{ users(first: 100) { edges { node { name } } } }`, nil, &p)
	out := []string{}
	for _, e := range p.Users.Edges {
		out = append(out, e.Node.Name)
	}
	return out
}
