package wazzup_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestContactsRoundTrip(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	var batch []wazzup.Contact
	connectortest.DecodeTestdata(t, "contacts_upsert_request.json", &batch)
	ctx := t.Context()
	if err := c.UpsertContacts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	stored, ok := s.Contact("1")
	if !ok || stored.URI != "https://link-to-contact-in-crm.com" || stored.ContactData[0].ChatID != "79991114433" {
		t.Fatalf("stored %+v", stored)
	}

	got, count, err := c.ListContacts(ctx, 0)
	if err != nil || count != 2 {
		t.Fatalf("list: %v, count %d", err, count)
	}
	connectortest.WantEqual(t, "got", got, batch)

	one, err := c.GetContact(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "one", one, batch[1])

	if err := c.DeleteContact(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetContact(ctx, "2"); !wazzup.IsNotFound(err) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := c.DeleteContact(ctx, "2"); !wazzup.IsNotFound(err) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := c.GetContact(ctx, ""); err == nil {
		t.Fatal("an empty id must be refused")
	}
}

func TestContactIDsAreEscaped(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{Contacts: []wazzuptest.Contact{{ID: "a/b c?d"}}})
	if _, err := c.GetContact(t.Context(), "a/b c?d"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContact(t.Context(), "a/b c?d"); err != nil {
		t.Fatal(err)
	}
	if len(s.Contacts()) != 0 {
		t.Fatal("not deleted")
	}
}

func TestUpsertContactsOverLimitIsRefusedClientSide(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	if err := c.UpsertContacts(t.Context(), contacts(101)); !errors.Is(err, wazzup.ErrBatchTooLarge) {
		t.Fatalf("101 contacts: %v", err)
	}
	ids := make([]string, 101)
	if _, err := c.BulkDeleteContacts(t.Context(), ids); !errors.Is(err, wazzup.ErrBatchTooLarge) {
		t.Fatalf("101 ids: %v", err)
	}
	if len(s.Requests()) != 0 {
		t.Fatalf("sent %v", s.Requests())
	}
	if err := c.UpsertContacts(t.Context(), contacts(100)); err != nil {
		t.Fatalf("100 contacts: %v", err)
	}
	if err := c.UpsertContacts(t.Context(), nil); err != nil || len(s.Requests()) != 1 {
		t.Fatalf("an empty batch must send nothing: %v", err)
	}
}

func TestInvalidContactsDataNamesEachRecord(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	batch := contacts(5)
	batch[1].Name = strings.Repeat("n", 201)
	batch[3].ID = wazzup.ID(strings.Repeat("i", 101))
	batch[3].ResponsibleUserID = ""
	err := c.UpsertContacts(t.Context(), batch)

	be := connectortest.ErrorAs[*wazzup.BatchError](t, err)
	want := []connectors.ItemError{
		{Index: 1, ID: "c001", Code: wazzup.CodeInvalidContactsData, Fields: []string{"name"}, Message: be.Description},
		{Index: 3, ID: string(batch[3].ID), Code: wazzup.CodeInvalidContactsData, Fields: []string{"id", "responsibleUserId"}, Message: be.Description},
	}
	connectortest.WantEqual(t, "be.Items", be.Items, want)
	if be.Status != http.StatusBadRequest || be.Code != wazzup.CodeInvalidContactsData || be.Description == "" {
		t.Fatalf("%+v", be)
	}
	if item := connectortest.ErrorAs[connectors.ItemError](t, err); item.Index != 1 {
		t.Fatalf("errors.As found %+v", item)
	}
	if n := len(s.Contacts()); n != 0 {
		t.Fatalf("the remote refuses the whole batch, yet %d contacts are stored", n)
	}

	valid, rejected, ok := wazzup.DropRejected(batch, err)
	if !ok || len(rejected) != 2 {
		t.Fatalf("DropRejected: ok %v, %d rejected", ok, len(rejected))
	}
	connectortest.WantEqual(t, "valid", valid, []wazzup.Contact{batch[0], batch[2], batch[4]})
	if err := c.UpsertContacts(t.Context(), valid); err != nil {
		t.Fatalf("resending the valid records: %v", err)
	}
	if n := len(s.Contacts()); n != 3 {
		t.Fatalf("%d contacts stored, want 3", n)
	}
}

func TestListContactsPagesThrough250(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{})
	for i := range 250 {
		s.PutContacts(wazzuptest.Contact{ID: fmt.Sprintf("id-%03d", 249-i), Name: "x"})
	}
	var ids []string
	for offset := 0; ; {
		page, count, err := c.ListContacts(t.Context(), offset)
		if err != nil || count != 250 {
			t.Fatalf("offset %d: %v, count %d", offset, err, count)
		}
		if len(page) == 0 {
			break
		}
		for _, ct := range page {
			ids = append(ids, string(ct.ID))
		}
		offset += len(page)
	}
	checkEachOnce(t, ids, 250)

	ids = ids[:0]
	calls := s.Calls(wazzuptest.RouteListContacts)
	for ct, err := range c.AllContacts(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(ct.ID))
	}
	checkEachOnce(t, ids, 250)
	if n := s.Calls(wazzuptest.RouteListContacts) - calls; n != 3 {
		t.Fatalf("AllContacts made %d requests for 250 contacts, want 3", n)
	}
	if _, _, err := c.ListContacts(t.Context(), -1); err == nil {
		t.Fatal("a negative offset must be refused")
	}
}

func checkEachOnce(t *testing.T, ids []string, n int) {
	t.Helper()
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("%d ids, want %d each once in ascending order: %v", len(ids), n, ids)
	}
}

func TestAllContactsStopsAtTheFirstError(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{
		Inject: func(route string, n int) *wazzuptest.Fault {
			if n == 2 { // the second page
				return &wazzuptest.Fault{Status: http.StatusBadGateway}
			}
			return nil
		},
	})
	for i := range 150 {
		s.PutContacts(wazzuptest.Contact{ID: fmt.Sprintf("%03d", i)})
	}
	n := 0
	var errs []error
	for _, err := range c.AllContacts(t.Context()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n != 100 || len(errs) != 1 {
		t.Fatalf("%d contacts, errors %v", n, errs)
	}
	connectortest.ErrorAs[*connectors.TransientError](t, errs[0])
	if calls := s.Calls(wazzuptest.RouteListContacts); calls != 2 {
		t.Fatalf("%d list requests, want 2", calls)
	}
}

func TestBulkDeleteReturnsMissingIDs(t *testing.T) {
	c, s := newClient(t, wazzuptest.Options{Contacts: []wazzuptest.Contact{{ID: "contact-id-123"}, {ID: "other"}}})
	var ids []string
	connectortest.DecodeTestdata(t, "contacts_bulk_delete_request.json", &ids)
	missing, err := c.BulkDeleteContacts(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "missing", missing, []string{"contact-id-456"})
	if got := s.Contacts(); len(got) != 1 || got[0].ID != "other" {
		t.Fatalf("left %+v", got)
	}
	missing, err = c.BulkDeleteContacts(t.Context(), []string{"other"})
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing %v, %v", missing, err)
	}
}
