package wazzuptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

func TestUpsertContactsDocExampleThenList(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	a := call(t, s, "POST", "/v3/contacts", testdata(t, "contacts_upsert_request.json"))
	if a.status != http.StatusOK {
		t.Fatalf("upsert: %d %s", a.status, a.body)
	}
	a = call(t, s, "GET", "/v3/contacts?offset=0", nil)
	if a.status != http.StatusOK {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	wantJSON(t, a.body, testdata(t, "contacts_list_response.json"))

	// The documented "offset=" with no value reads as 0.
	wantJSON(t, call(t, s, "GET", "/v3/contacts?offset=", nil).body, testdata(t, "contacts_list_response.json"))
}

func TestUpsertContactsTooManyIsTheDocumentedError(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	a := call(t, s, "POST", "/v3/contacts", mustJSON(t, contactsJSON(123)))
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d", a.status)
	}
	wantJSON(t, a.body, testdata(t, "contacts_too_many_response.json"))
	if n := len(s.Contacts()); n != 0 {
		t.Fatalf("%d contacts stored from a refused batch", n)
	}

	// The limit itself is allowed.
	if a := call(t, s, "POST", "/v3/contacts", mustJSON(t, contactsJSON(100))); a.status != http.StatusOK {
		t.Fatalf("100 contacts: %d %s", a.status, a.body)
	}
}

func TestUpsertContactsInvalidIsTheDocumentedError(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	batch := contactsJSON(20)
	delete(batch[12], "responsibleUserId")
	a := call(t, s, "POST", "/v3/contacts", mustJSON(t, batch))
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d", a.status)
	}
	wantJSON(t, a.body, testdata(t, "contacts_invalid_response.json"))
	if n := len(s.Contacts()); n != 0 {
		t.Fatalf("the whole batch must be refused, %d contacts stored", n)
	}
}

func TestUpsertContactsFieldLimits(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c map[string]any)
		fields []string // nil: accepted
	}{
		{"id of 100 characters", func(c map[string]any) { c["id"] = long("i", 100) }, nil},
		{"id of 101 characters", func(c map[string]any) { c["id"] = long("i", 101) }, []string{"id"}},
		{"id counted in characters", func(c map[string]any) { c["id"] = long("й", 100) }, nil},
		{"empty id", func(c map[string]any) { c["id"] = "" }, []string{"id"}},
		{"numeric id", func(c map[string]any) { c["id"] = 7 }, []string{"id"}},
		{"name of 200 characters", func(c map[string]any) { c["name"] = long("n", 200) }, nil},
		{"name of 201 characters", func(c map[string]any) { c["name"] = long("n", 201) }, []string{"name"}},
		{"no name", func(c map[string]any) { delete(c, "name") }, []string{"name"}},
		{"responsibleUserId of 101 characters", func(c map[string]any) { c["responsibleUserId"] = long("u", 101) }, []string{"responsibleUserId"}},
		{"uri of 200 characters", func(c map[string]any) { c["uri"] = "https://x.io/" + long("u", 187) }, nil},
		{"uri of 201 characters", func(c map[string]any) { c["uri"] = "https://x.io/" + long("u", 188) }, []string{"uri"}},
		{"no contactData", func(c map[string]any) { delete(c, "contactData") }, []string{"contactData"}},
		{"empty contactData", func(c map[string]any) { c["contactData"] = []any{} }, []string{"contactData"}},
		{"unknown chatType", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "icq", "chatId": "123"}}
		}, []string{"contactData.chatType"}},
		{"missing chatId", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "whatsapp"}}
		}, []string{"contactData.chatId"}},
		{"whatsapp chatId with +", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "whatsapp", "chatId": "+79991114433"}}
		}, []string{"contactData.chatId"}},
		{"instagram chatId with @", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "instagram", "chatId": "@wazzuptest"}}
		}, []string{"contactData.chatId"}},
		{"telegram by username without chatId", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "telegram", "username": "wazzup"}}
		}, nil},
		{"telegram username with @", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "telegram", "chatId": "1", "username": "@wazzup"}}
		}, []string{"contactData.username"}},
		{"telegram phone with +", func(c map[string]any) {
			c["contactData"] = []any{map[string]any{"chatType": "telegram", "phone": "+79991114433"}}
		}, []string{"contactData.phone"}},
		{"several bad fields", func(c map[string]any) { c["id"] = long("i", 101); c["name"] = long("n", 201) }, []string{"id", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wazzuptest.NewServer(t, wazzuptest.Options{})
			batch := contactsJSON(3)
			tt.edit(batch[1])
			a := call(t, s, "POST", "/v3/contacts", mustJSON(t, batch))
			if tt.fields == nil {
				if a.status != http.StatusOK || len(s.Contacts()) != 3 {
					t.Fatalf("want accepted, got %d %s", a.status, a.body)
				}
				return
			}
			wantJSON(t, a.body, mustJSON(t, map[string]any{
				"error":       "INVALID_CONTACTS_DATA",
				"description": "One or more of provided contacts data are not valid.",
				"data":        []any{map[string]any{"index": 1, "fields": tt.fields}},
			}))
		})
	}
}

func TestUpsertContactsEmptyBody(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	for _, body := range []string{"", "[]", "{}", "not json"} {
		wantError(t, call(t, s, "POST", "/v3/contacts", []byte(body)), http.StatusBadRequest, "INVALID_CONTACTS_DATA")
	}
}

func TestUpsertContactsRequireKnownUsers(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{
		RequireKnownUsers: true,
		Users:             []wazzuptest.User{{ID: "1", Name: "Manager"}},
	})
	batch := contactsJSON(2)
	batch[0]["responsibleUserId"] = "nobody"
	a := call(t, s, "POST", "/v3/contacts", mustJSON(t, batch))
	wantJSON(t, a.body, []byte(`{"error":"INVALID_CONTACTS_DATA","description":"One or more of provided contacts data are not valid.","data":[{"index":0,"fields":["responsibleUserId"]}]}`))
}

func TestUpsertContactsUpdatesByID(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	call(t, s, "POST", "/v3/contacts", testdata(t, "contacts_upsert_request.json"))
	c := contactJSON("1")
	c["name"] = "Renamed"
	if a := call(t, s, "POST", "/v3/contacts", mustJSON(t, []any{c})); a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	got, ok := s.Contact("1")
	if !ok || got.Name != "Renamed" || got.URI != "" || len(s.Contacts()) != 2 {
		t.Fatalf("contact 1 = %+v, %d contacts", got, len(s.Contacts()))
	}
}

func TestListContactsPagesByOffsetInIDOrder(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	for i := 249; i >= 0; i-- {
		s.PutContacts(wazzuptest.Contact{ID: fmt.Sprintf("c%03d", i), Name: "x"})
	}
	var ids []string
	for _, offset := range []int{0, 100, 200, 250} {
		a := call(t, s, "GET", fmt.Sprintf("/v3/contacts?offset=%d", offset), nil)
		var page struct {
			Count int                  `json:"count"`
			Data  []wazzuptest.Contact `json:"data"`
		}
		if err := json.Unmarshal(a.body, &page); err != nil || page.Count != 250 {
			t.Fatalf("offset %d: %v %s", offset, err, a.body)
		}
		if want := min(100, 250-offset); len(page.Data) != want {
			t.Fatalf("offset %d: %d contacts, want %d", offset, len(page.Data), want)
		}
		for _, c := range page.Data {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) != 250 || !slices.IsSorted(ids) || len(slices.Compact(ids)) != 250 {
		t.Fatalf("ids not each once in ascending order: %v", ids)
	}
	for _, q := range []string{"-1", "x", "1.5"} {
		wantError(t, call(t, s, "GET", "/v3/contacts?offset="+q, nil), http.StatusBadRequest, "VALIDATION_ERROR")
	}

	// The listing keeps the ids in order between calls; an insert or a
	// delete must show in the next page read.
	s.PutContacts(wazzuptest.Contact{ID: "c000a", Name: "new"})
	call(t, s, "DELETE", "/v3/contacts/c001", nil)
	a := call(t, s, "GET", "/v3/contacts?offset=0", nil)
	var first struct {
		Count int                  `json:"count"`
		Data  []wazzuptest.Contact `json:"data"`
	}
	if err := json.Unmarshal(a.body, &first); err != nil || first.Count != 250 || len(first.Data) < 3 ||
		first.Data[0].ID != "c000" || first.Data[1].ID != "c000a" || first.Data[2].ID != "c002" {
		t.Fatalf("after an insert and a delete: %v %s", err, a.body)
	}
}

func TestGetAndDeleteContact(t *testing.T) {
	var want wazzuptest.Contact
	s := wazzuptest.NewServer(t, wazzuptest.Options{})
	if err := json.Unmarshal(testdata(t, "contact_get_response.json"), &want); err != nil {
		t.Fatal(err)
	}
	s.PutContacts(want)
	path := "/v3/contacts/111-2e0df379-0e3c-470f-9b36"
	a := call(t, s, "GET", path, nil)
	wantJSON(t, a.body, testdata(t, "contact_get_response.json"))

	// The document's DELETE example authenticates with Basic.
	if a := call(t, s, "DELETE", path, nil, "Basic "+s.APIKey()); a.status != http.StatusOK {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	wantError(t, call(t, s, "GET", path, nil), http.StatusNotFound, "NOT_FOUND")
	wantError(t, call(t, s, "DELETE", path, nil), http.StatusNotFound, "NOT_FOUND")
}

func TestBulkDeleteReturnsMissingIDs(t *testing.T) {
	s := wazzuptest.NewServer(t, wazzuptest.Options{Contacts: []wazzuptest.Contact{{ID: "contact-id-123"}, {ID: "keep"}}})
	a := call(t, s, "PATCH", "/v3/contacts/bulk_delete", testdata(t, "contacts_bulk_delete_request.json"))
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	wantJSON(t, a.body, []byte(`["contact-id-456"]`))
	if got := s.Contacts(); len(got) != 1 || got[0].ID != "keep" {
		t.Fatalf("left %+v", got)
	}

	s.PutContacts(wazzuptest.Contact{ID: "a"})
	wantJSON(t, call(t, s, "PATCH", "/v3/contacts/bulk_delete", []byte(`["a","a"]`)).body, []byte(`[]`))
	wantError(t, call(t, s, "PATCH", "/v3/contacts/bulk_delete", []byte(`{"ids":["a"]}`)), http.StatusBadRequest, "VALIDATION_ERROR")
}
