package db_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// inTenant runs fn in a committed transaction of workspace ws, as the
// service role with the tenant set the way the services set it.
func inTenant(t *testing.T, d *db.DB, ws uuid.UUID, fn func(tx pgx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.workspace_id', $1, true)", ws.String()); err != nil {
			return err
		}
		return fn(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allPages follows a connection's cursors to its end and returns every
// node and the number of pages it took.
func allPages[N any](t *testing.T, fetch func(after string) ([]N, crmhub.PageInfo, error)) ([]N, int) {
	t.Helper()
	var out []N
	after := ""
	for pages := 1; pages <= 50; pages++ {
		nodes, info, err := fetch(after)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, nodes...)
		if !info.HasNextPage {
			return out, pages
		}
		after = *info.EndCursor
	}
	t.Fatal("the pages never end")
	return nil, 0
}

// statusesOf lists the statuses of bulk results.
func statusesOf[R any](res []R, status func(R) crmhub.UpsertStatus) []crmhub.UpsertStatus {
	out := make([]crmhub.UpsertStatus, len(res))
	for i, r := range res {
		out[i] = status(r)
	}
	return out
}

func userStatus(r crmhub.UpsertUserResult) crmhub.UpsertStatus { return r.Status }

func TestUpsertUsers(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewUserService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)

	items := []crmhub.UserInput{
		{ExternalID: " crm-1 ", Name: " Ann ", Email: ptr(" Ann@Example.COM ")},
		{ExternalID: "crm-2", Name: "Bob"},
		{ExternalID: "crm-3", Name: "Cid", Email: ptr("not an email")},
		{ExternalID: "crm-1", Name: "Ann again"},
		{ExternalID: "crm-4", Name: "  "},
		{ExternalID: strings.Repeat("x", crmhub.MaxExternalIDLength+1), Name: "Long"},
	}
	res, err := svc.UpsertUsers(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	want := []crmhub.UpsertStatus{crmhub.UpsertCreated, crmhub.UpsertCreated, crmhub.UpsertFailed,
		crmhub.UpsertFailed, crmhub.UpsertFailed, crmhub.UpsertFailed}
	if got := statusesOf(res, userStatus); !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (%+v)", got, want, res)
	}
	for i, r := range res {
		if r.Index != i {
			t.Errorf("result %d has index %d", i, r.Index)
		}
	}
	ann := res[0].User
	if ann.ExternalID != "crm-1" || ann.Name != "Ann" || ann.Email == nil || *ann.Email != "ann@example.com" {
		t.Errorf("normalized user: %+v", ann)
	}
	for i, field := range map[int]string{2: "email", 3: "externalId", 4: "name", 5: "externalId"} {
		if e := res[i].Errors; len(e) != 1 || e[0].Code != crmhub.EINVALID || e[0].Field != field {
			t.Errorf("item %d: errors %+v, want VALIDATION_ERROR on %s", i, e, field)
		}
	}
	if n := countEvents(t, d, ws.ID, "user.upserted"); n != 2 {
		t.Errorf("user.upserted events = %d, want 2", n)
	}

	// The same input again changes nothing and emits nothing.
	events := countAllEvents(t, d, ws.ID)
	res, err = svc.UpsertUsers(ctx, items[:2])
	if err != nil {
		t.Fatal(err)
	}
	if got := statusesOf(res, userStatus); !slices.Equal(got, []crmhub.UpsertStatus{crmhub.UpsertUnchanged, crmhub.UpsertUnchanged}) {
		t.Errorf("re-send: %v", got)
	}
	if res[0].User.ID != ann.ID {
		t.Errorf("re-send matched another user")
	}
	if got := countAllEvents(t, d, ws.ID); got != events {
		t.Errorf("re-send emitted %d events", got-events)
	}

	// The input is the whole user: an email appears, then goes.
	res, _ = svc.UpsertUsers(ctx, []crmhub.UserInput{{ExternalID: "crm-2", Name: "Bob", Email: ptr("bob@x.io")}})
	if res[0].Status != crmhub.UpsertUpdated || *res[0].User.Email != "bob@x.io" {
		t.Errorf("add email: %+v", res[0])
	}
	res, _ = svc.UpsertUsers(ctx, []crmhub.UserInput{{ExternalID: "crm-2", Name: "Bob"}})
	if res[0].Status != crmhub.UpsertUpdated || res[0].User.Email != nil {
		t.Errorf("drop email: %+v", res[0])
	}
	if got, err := svc.User(ctx, res[0].User.ID); err != nil || got.Email != nil || got.Name != "Bob" {
		t.Errorf("stored user: %+v %v", got, err)
	}
	if n := countEvents(t, d, ws.ID, "user.upserted"); n != 4 {
		t.Errorf("user.upserted events = %d, want 4", n)
	}

	// More than 100 items write nothing.
	many := make([]crmhub.UserInput, crmhub.MaxBatch+1)
	for i := range many {
		many[i] = crmhub.UserInput{ExternalID: fmt.Sprint("m", i), Name: "M"}
	}
	_, err = svc.UpsertUsers(ctx, many)
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ETOOMANY || e.Extensions["count"] != 101 || e.Extensions["limit"] != 100 {
		t.Fatalf("101 users: %v", err)
	}
	if page, _ := svc.Users(ctx, 100, ""); len(page.Edges) != 2 {
		t.Errorf("101 users wrote %d users", len(page.Edges)-2)
	}
}

func TestUserReadsAndDelete(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewUserService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)

	var items []crmhub.UserInput
	for i := range 25 {
		// Names repeat so that the id breaks ties.
		items = append(items, crmhub.UserInput{ExternalID: fmt.Sprint("u", i), Name: fmt.Sprintf("name %02d", (i*7)%12)})
	}
	res, err := svc.UpsertUsers(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	listed, pages := allPages(t, func(after string) ([]*crmhub.User, crmhub.PageInfo, error) {
		page, err := svc.Users(ctx, 10, after)
		if err != nil {
			return nil, crmhub.PageInfo{}, err
		}
		nodes := make([]*crmhub.User, len(page.Edges))
		for i, e := range page.Edges {
			nodes[i] = e.Node
		}
		return nodes, page.PageInfo, nil
	})
	if len(listed) != 25 || pages != 3 {
		t.Fatalf("%d users in %d pages, want 25 in 3", len(listed), pages)
	}
	seen := map[uuid.UUID]bool{}
	for i, u := range listed {
		if seen[u.ID] {
			t.Fatalf("%s listed twice", u.ExternalID)
		}
		seen[u.ID] = true
		if i > 0 && listed[i-1].Name > u.Name {
			t.Errorf("not sorted by name: %q before %q", listed[i-1].Name, u.Name)
		}
	}
	if _, err := svc.Users(ctx, 10, "garbage"); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("bad cursor: %v", err)
	}

	a, b := res[3].User, res[7].User
	got, err := svc.UsersByIDs(ctx, []uuid.UUID{b.ID, uuid.New(), a.ID})
	if err != nil || len(got) != 3 || got[0].ID != b.ID || got[1] != nil || got[2].ID != a.ID {
		t.Fatalf("UsersByIDs: %v %v", got, err)
	}

	if err := svc.DeleteUser(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.User(ctx, a.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("deleted user: %v", err)
	}
	if err := svc.DeleteUser(ctx, a.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("deleting twice: %v", err)
	}
	if n := countEvents(t, d, ws.ID, "user.deleted"); n != 1 {
		t.Errorf("user.deleted events = %d, want 1", n)
	}
}

func TestReplaceUsers(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewUserService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)

	res, err := svc.UpsertUsers(ctx, []crmhub.UserInput{
		{ExternalID: "a", Name: "A"}, {ExternalID: "b", Name: "B"}, {ExternalID: "c", Name: "C"}})
	if err != nil {
		t.Fatal(err)
	}
	b := res[1].User

	// b is responsible for a deal and a contact (contacts have no API for it yet).
	deals, err := db.NewDealService(d).UpsertDeals(ctx, []crmhub.DealUpsertInput{{Name: ptr("D"), ResponsibleUserID: &b.ID}})
	if err != nil || deals[0].Status != crmhub.UpsertCreated {
		t.Fatalf("deal: %+v %v", deals, err)
	}
	contact, err := db.NewContactService(d).CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("r@x.io")}})
	if err != nil {
		t.Fatal(err)
	}
	inTenant(t, d, ws.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE contacts SET responsible_user_id = $1 WHERE workspace_id = $2 AND id = $3",
			b.ID, ws.ID, contact.ID)
		return err
	})

	// Refused lists change nothing.
	unchanged := func(label string) {
		t.Helper()
		page, err := svc.Users(ctx, 100, "")
		if err != nil || len(page.Edges) != 3 {
			t.Errorf("%s: %d users left (%v), want 3", label, len(page.Edges), err)
		}
	}
	events := countAllEvents(t, d, ws.ID)
	_, err = svc.ReplaceUsers(ctx, []crmhub.UserInput{{ExternalID: "x", Name: "X"}, {ExternalID: "y", Name: "Y"}, {ExternalID: " x", Name: "X2"}})
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.EINVALID || e.Field != "input[2].externalId" {
		t.Errorf("duplicate externalId: %v", err)
	}
	unchanged("duplicate externalId")
	_, err = svc.ReplaceUsers(ctx, []crmhub.UserInput{{ExternalID: "x", Name: "X"}, {ExternalID: "y", Name: "Y", Email: ptr("@")}})
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.EINVALID || e.Field != "input[1].email" {
		t.Errorf("bad email: %v", err)
	}
	unchanged("bad email")
	_, err = svc.ReplaceUsers(ctx, make([]crmhub.UserInput, crmhub.MaxReplaceUsers+1))
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.ETOOMANY || e.Extensions["limit"] != crmhub.MaxReplaceUsers {
		t.Errorf("1001 users: %v", err)
	}
	unchanged("1001 users")
	if got := countAllEvents(t, d, ws.ID); got != events {
		t.Errorf("refused replaces emitted %d events", got-events)
	}

	rep, err := svc.ReplaceUsers(ctx, []crmhub.UserInput{{ExternalID: "c", Name: "C renamed"}, {ExternalID: "a", Name: "A"},
		{ExternalID: "d", Name: "D"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 || rep.Updated != 1 || rep.Unchanged != 1 || rep.Deleted != 1 || len(rep.Users) != 3 ||
		rep.Users[0].Name != "C renamed" || rep.Users[2].ExternalID != "d" {
		t.Errorf("replace result: %+v", rep)
	}
	if _, err := svc.User(ctx, b.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("unlisted user survived: %v", err)
	}
	if n := countEvents(t, d, ws.ID, "user.deleted"); n != 1 {
		t.Errorf("user.deleted events = %d, want 1", n)
	}
	if n := countAllEvents(t, d, ws.ID) - events; n != 3 {
		t.Errorf("replace emitted %d events, want 3 (created, updated, deleted)", n)
	}
	deal, err := db.NewDealService(d).Deal(ctx, deals[0].Deal.ID)
	if err != nil || deal.ResponsibleUserID != nil {
		t.Errorf("deal of the deleted user: %+v %v", deal, err)
	}
	inTenant(t, d, ws.ID, func(tx pgx.Tx) error {
		var resp *uuid.UUID
		err := tx.QueryRow(context.Background(), "SELECT responsible_user_id FROM contacts WHERE workspace_id = $1 AND id = $2",
			ws.ID, contact.ID).Scan(&resp)
		if err == nil && resp != nil {
			t.Errorf("contact of the deleted user still names it")
		}
		return err
	})

	// An empty list leaves no users.
	rep, err = svc.ReplaceUsers(ctx, nil)
	if err != nil || rep.Deleted != 3 {
		t.Errorf("replace with nothing: %+v %v", rep, err)
	}
}

func TestUserIsolation(t *testing.T) {
	d := dbtest.Open(t, nil)
	svc := db.NewUserService(d)
	ctxA, _, _ := dbtest.Workspace(t, d)
	ctxB, _, _ := dbtest.Workspace(t, d)
	res, err := svc.UpsertUsers(ctxA, []crmhub.UserInput{{ExternalID: "same", Name: "A's"}})
	if err != nil {
		t.Fatal(err)
	}
	a := res[0].User

	if _, err := svc.User(ctxB, a.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B reads A's user: %v", err)
	}
	if got, err := svc.UsersByIDs(ctxB, []uuid.UUID{a.ID}); err != nil || got[0] != nil {
		t.Errorf("B loads A's user: %v %v", got, err)
	}
	if err := svc.DeleteUser(ctxB, a.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("B deletes A's user: %v", err)
	}
	// The same external id is another user in B; replacing B's users leaves A's alone.
	res, err = svc.UpsertUsers(ctxB, []crmhub.UserInput{{ExternalID: "same", Name: "B's"}})
	if err != nil || res[0].Status != crmhub.UpsertCreated || res[0].User.ID == a.ID {
		t.Errorf("B upserts A's external id: %+v %v", res, err)
	}
	if _, err := svc.ReplaceUsers(ctxB, nil); err != nil {
		t.Fatal(err)
	}
	if page, err := svc.Users(ctxB, 10, ""); err != nil || len(page.Edges) != 0 {
		t.Errorf("B lists %d users (%v)", len(page.Edges), err)
	}
	got, err := svc.User(ctxA, a.ID)
	if err != nil || got.Name != "A's" || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("A's user after B's calls: %+v %v", got, err)
	}

	// Scopes: a read-only key cannot write.
	p := crmhub.FromContext(ctxA)
	reader := crmhub.NewContext(context.Background(), &crmhub.Principal{WorkspaceID: p.WorkspaceID,
		Scopes: []crmhub.Scope{crmhub.ScopeUsersRead}})
	if _, err := svc.UpsertUsers(reader, []crmhub.UserInput{{ExternalID: "r", Name: "R"}}); crmhub.ErrorCode(err) != crmhub.EFORBIDDEN {
		t.Errorf("upsert with users:read: %v", err)
	}
	if _, err := svc.User(reader, a.ID); err != nil {
		t.Errorf("read with users:read: %v", err)
	}
}
