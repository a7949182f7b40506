package wazzup_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestUsersRoundTrip(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	ctx := t.Context()
	var users []wazzup.User
	connectortest.DecodeTestdata(t, "users_request.json", &users)
	if err := c.UpsertUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "got", got, users)

	var want wazzup.User
	connectortest.DecodeTestdata(t, "user_get_response.json", &want)
	one, err := c.GetUser(ctx, "2e0df379-0e3c-470f-9b36-06b9e34c3bdb")
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "one", one, want)

	if err := c.UpsertUsers(ctx, []wazzup.User{{ID: "2e0df379-0e3c-470f-9b36-06b9e34c3bdb", Name: "Renamed"}, {ID: "7", Name: "Seven"}}); err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "s.Users()", s.Users(), []wazzuptest.User{{ID: "2e0df379-0e3c-470f-9b36-06b9e34c3bdb", Name: "Renamed"}, {ID: "7", Name: "Seven"}})

	if err := c.ReplaceUsers(ctx, []wazzup.User{{ID: "8", Name: "Eight"}}); err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "s.Users()", s.Users(), []wazzuptest.User{{ID: "8", Name: "Eight"}})

	if err := c.DeleteUser(ctx, "8"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, "8"); !wazzup.IsNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := c.GetUser(ctx, "8"); !wazzup.IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
	if got, err := c.ListUsers(ctx); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty list: %#v, %v", got, err)
	}
}

func TestReplaceUsersWithNothingEmptiesTheList(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{Users: []wazzuptest.User{{ID: "1", Name: "One"}}})
	if err := c.ReplaceUsers(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if len(s.Users()) != 0 || s.Calls(wazzuptest.RouteReplaceUsers) != 1 {
		t.Fatalf("users %v", s.Users())
	}
	if err := c.ReplaceUsers(t.Context(), make([]wazzup.User, wazzup.MaxReplaceUsers+1)); !errors.Is(err, wazzup.ErrBatchTooLarge) {
		t.Fatalf("oversized replace: %v", err)
	}
	if err := c.UpsertUsers(t.Context(), make([]wazzup.User, 101)); !errors.Is(err, wazzup.ErrBatchTooLarge) {
		t.Fatalf("oversized upsert: %v", err)
	}
	if err := c.UpsertUsers(t.Context(), nil); err != nil || len(s.Requests()) != 1 {
		t.Fatalf("an empty upsert must send nothing: %v", err)
	}
}

func TestUsersValidationNamesRecords(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	users := []wazzup.User{{ID: "ok", Name: "Fine"}, {ID: wazzup.ID(strings.Repeat("i", 65)), Name: "Long id"}, {ID: "n", Name: strings.Repeat("n", 151)}}
	err := c.ReplaceUsers(t.Context(), users)
	be := connectortest.ErrorAs[*wazzup.BatchError](t, err)
	if be.Code != wazzup.CodeValidation || len(be.Items) != 2 || be.Items[0].Index != 1 || be.Items[1].ID != "n" ||
		be.Items[1].Fields[0] != "name" {
		t.Fatalf("%+v", be)
	}
	valid, _, _ := wazzup.DropRejected(users, err)
	if err := c.ReplaceUsers(t.Context(), valid); err != nil || len(s.Users()) != 1 {
		t.Fatalf("resend: %v %v", err, s.Users())
	}
}
