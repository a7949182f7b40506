package wazzup

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
)

// loadJSON decodes testdata/name into a new T.
func loadJSON[T any](t *testing.T, name string) T {
	t.Helper()
	var v T
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func deepEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func wa(v string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityWhatsApp, Value: v}
}
func tg(v string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityTelegram, Value: v}
}
func ph(v string) crmhub.Identifier { return crmhub.Identifier{Type: crmhub.IdentityPhone, Value: v} }
func ig(v string) crmhub.Identifier {
	return crmhub.Identifier{Type: crmhub.IdentityInstagram, Value: v}
}
func vk(v string) crmhub.Identifier { return crmhub.Identifier{Type: crmhub.IdentityVK, Value: v} }

// docContacts are the contacts of the v3 upsert example in domain terms.
var docContacts = []connectors.RemoteContact{
	{ExternalID: "1", ResponsibleUserExternalID: ptr("1"), Name: ptr("3301"),
		Identifiers: []crmhub.Identifier{wa("+79991114433")}, URI: ptr("https://link-to-contact-in-crm.com")},
	{ExternalID: "2", ResponsibleUserExternalID: ptr("1"), Name: ptr("3302"),
		Identifiers: []crmhub.Identifier{wa("+79884447788")}},
}

func TestContactsFromTheDocuments(t *testing.T) {
	list := loadJSON[contactList](t, "contacts_list_response.json")
	got := make([]connectors.RemoteContact, len(list.Data))
	for i, c := range list.Data {
		got[i] = contactFromWire(c)
	}
	deepEqual(t, "contacts_list_response.json", got, docContacts)

	one := contactFromWire(loadJSON[Contact](t, "contact_get_response.json"))
	deepEqual(t, "contact_get_response.json", one, connectors.RemoteContact{
		ExternalID: "111-2e0df379-0e3c-470f-9b36", ResponsibleUserExternalID: ptr("2e0df379-0e3c-470f-9b36-06b9e34c3bdb"),
		Name: ptr("3301"), Identifiers: []crmhub.Identifier{wa("+79991114433")}, URI: ptr("https://link-to-contact-in-crm.com"),
	})

	// Going back gives the documented request, "+" dropped from the chat ids.
	want := loadJSON[[]Contact](t, "contacts_upsert_request.json")
	for i, rc := range docContacts {
		deepEqual(t, "contact to wire", contactToWire(rc, "ignored"), want[i])
	}
}

func TestContactToWireDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   connectors.RemoteContact
		def  string
		want Contact
	}{
		{"default responsible", connectors.RemoteContact{ExternalID: "a", Name: ptr("Ann"), Identifiers: []crmhub.Identifier{wa("+79991114433")}},
			"u1", Contact{ID: "a", ResponsibleUserID: "u1", Name: "Ann", ContactData: []ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}}}},
		{"own responsible wins", connectors.RemoteContact{ExternalID: "a", Name: ptr("Ann"), ResponsibleUserExternalID: ptr("u2"),
			Identifiers: []crmhub.Identifier{vk("ann")}},
			"u1", Contact{ID: "a", ResponsibleUserID: "u2", Name: "Ann", ContactData: []ContactData{{ChatType: ChatVK, ChatID: "ann"}}}},
		{"no name: the first chat's id", connectors.RemoteContact{ExternalID: "a", Identifiers: []crmhub.Identifier{ig("@ann.b"), wa("+79991114433")}},
			"u1", Contact{ID: "a", ResponsibleUserID: "u1", Name: "ann.b", ContactData: []ContactData{
				{ChatType: ChatInstagram, ChatID: "ann.b"}, {ChatType: ChatWhatsApp, ChatID: "79991114433"}}}},
		{"no name: the telegram username", connectors.RemoteContact{ExternalID: "a", Identifiers: []crmhub.Identifier{tg("ann")}},
			"", Contact{ID: "a", Name: "ann", ContactData: []ContactData{{ChatType: ChatTelegram, Username: "ann"}}}},
		{"nothing to send", connectors.RemoteContact{ExternalID: "a", Name: ptr("Ann"),
			Identifiers: []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "a@example.com"}}, Tags: []string{"vip"}},
			"u1", Contact{ID: "a", ResponsibleUserID: "u1", Name: "Ann"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deepEqual(t, "wire", contactToWire(tt.in, tt.def), tt.want)
		})
	}
}

func TestContactDataMapping(t *testing.T) {
	tests := []struct {
		name string
		wire []ContactData
		ids  []crmhub.Identifier
		// back is what the identifiers give going back, when not wire.
		back []ContactData
	}{
		{"whatsapp", []ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}},
			[]crmhub.Identifier{wa("+79991114433")}, nil},
		{"instagram", []ContactData{{ChatType: ChatInstagram, ChatID: "wazzuptest"}},
			[]crmhub.Identifier{ig("wazzuptest")}, nil},
		{"vk", []ContactData{{ChatType: ChatVK, ChatID: "id12345"}},
			[]crmhub.Identifier{vk("id12345")}, nil},
		{"telegram username and phone", []ContactData{{ChatType: ChatTelegram, Username: "ann_b", Phone: "79991114433"}},
			[]crmhub.Identifier{tg("ann_b"), ph("+79991114433")}, nil},
		{"telegram numeric chat id, username and phone",
			[]ContactData{{ChatType: ChatTelegram, ChatID: "123456789", Username: "ann_b", Phone: "79991114433"}},
			[]crmhub.Identifier{tg("123456789"), tg("ann_b"), ph("+79991114433")}, nil},
		{"telegram phone only: also a TELEGRAM identifier",
			[]ContactData{{ChatType: ChatTelegram, Phone: "79991114433"}},
			[]crmhub.Identifier{tg("+79991114433"), ph("+79991114433")}, nil},
		{"telegram chat id that is not a number is dropped",
			[]ContactData{{ChatType: ChatTelegram, ChatID: "2e0df379-0e3c", Username: "ann_b"}},
			[]crmhub.Identifier{tg("ann_b")},
			[]ContactData{{ChatType: ChatTelegram, Username: "ann_b"}}},
		{"unknown chat types are skipped",
			[]ContactData{{ChatType: ChatWhatsGroup, ChatID: "79124698489-1611143663"}, {ChatType: "avito", ChatID: "1"},
				{ChatType: ChatWhatsApp, ChatID: "79991114433"}},
			[]crmhub.Identifier{wa("+79991114433")},
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}}},
		{"two chats of each kind",
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}, {ChatType: ChatWhatsApp, ChatID: "79884447788"},
				{ChatType: ChatTelegram, Username: "ann", Phone: "79991114433"}, {ChatType: ChatTelegram, Username: "ann_work"}},
			[]crmhub.Identifier{wa("+79991114433"), wa("+79884447788"), tg("ann"), ph("+79991114433"), tg("ann_work")},
			nil},
		{"duplicates collapse",
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}, {ChatType: ChatWhatsApp, ChatID: "79991114433"}},
			[]crmhub.Identifier{wa("+79991114433")},
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deepEqual(t, "identifiers", identifiersFromWire(tt.wire), tt.ids)
			back := tt.back
			if back == nil {
				back = tt.wire
			}
			deepEqual(t, "back to wire", contactDataToWire(tt.ids), back)
		})
	}
}

func TestIdentifiersToWire(t *testing.T) {
	tests := []struct {
		name string
		ids  []crmhub.Identifier
		want []ContactData
	}{
		{"phone before its telegram", []crmhub.Identifier{ph("+79991114433"), tg("@Ann")},
			[]ContactData{{ChatType: ChatTelegram, Username: "Ann", Phone: "79991114433"}}},
		{"bare phone has no chat type", []crmhub.Identifier{ph("+79991114433"), wa("+7 999 111-44-33")},
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}}},
		{"WA_ID is whatsapp", []crmhub.Identifier{{Type: crmhub.IdentityWAID, Value: "+79991114433"}},
			[]ContactData{{ChatType: ChatWhatsApp, ChatID: "79991114433"}}},
		{"telegram phone and the same PHONE", []crmhub.Identifier{tg("+79991114433"), ph("+79991114433")},
			[]ContactData{{ChatType: ChatTelegram, Phone: "79991114433"}}},
		{"no sendable identifiers", []crmhub.Identifier{{Type: crmhub.IdentityEmail, Value: "a@example.com"},
			{Type: crmhub.IdentityExternalID, Value: "x", Source: "s"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deepEqual(t, "wire", contactDataToWire(tt.ids), tt.want)
		})
	}
}

func TestDealsFromTheDocuments(t *testing.T) {
	won, open := crmhub.DealWon, crmhub.DealOpen
	want := []connectors.RemoteDeal{
		{ExternalID: "1001", ResponsibleUserExternalID: ptr("2e0df379-0e3c-470f-9b36-06b9e34c3bdb"), Name: ptr("Deal 1001"),
			Status: &open, ContactExternalIDs: []string{"1", "2"}},
		{ExternalID: "1002", ResponsibleUserExternalID: ptr("5"), Name: ptr("Deal 1002"), Status: &won},
	}
	// The upsert example gives ids as numbers and strings: they read alike.
	for _, file := range []string{"deals_list_response.json", "deals_upsert_request.json"} {
		wire := loadJSON[[]Deal](t, file)
		got := make([]connectors.RemoteDeal, len(wire))
		for i, d := range wire {
			got[i] = dealFromWire(d)
		}
		deepEqual(t, file, got, want)
	}

	wire := loadJSON[[]Deal](t, "deals_list_response.json")
	for i, rd := range want {
		d, err := dealToWire(rd)
		if err != nil {
			t.Fatal(err)
		}
		deepEqual(t, "deal to wire", d, wire[i])
	}
}

func TestDealToWire(t *testing.T) {
	lost, open := crmhub.DealLost, crmhub.DealOpen
	tests := []struct {
		name string
		in   connectors.RemoteDeal
		want Deal
	}{
		{"lost is closed", connectors.RemoteDeal{ExternalID: "7", Status: &lost}, Deal{ID: 7, Closed: true, Contacts: []ID{}}},
		{"open", connectors.RemoteDeal{ExternalID: " 8 ", Status: &open, Name: ptr("x"), Amount: ptr(3.5)},
			Deal{ID: 8, Name: "x", Contacts: []ID{}}},
		{"no status is open", connectors.RemoteDeal{ExternalID: "9", ContactExternalIDs: []string{"c1"}},
			Deal{ID: 9, Contacts: []ID{"c1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dealToWire(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "wire", got, tt.want)
		})
	}
	for _, id := range []string{"", "deal-1", "1.5", "99999999999999999999"} {
		if _, err := dealToWire(connectors.RemoteDeal{ExternalID: id}); !errors.Is(err, errDealID) {
			t.Errorf("id %q: error %v, want errDealID", id, err)
		}
	}
}

func TestUsersFromTheDocuments(t *testing.T) {
	want := connectors.RemoteUser{ExternalID: "2e0df379-0e3c-470f-9b36-06b9e34c3bdb", Name: "User Name"}
	deepEqual(t, "user_get_response.json", userFromWire(loadJSON[User](t, "user_get_response.json")), want)
	list := loadJSON[[]User](t, "users_request.json")
	deepEqual(t, "users_request.json", userFromWire(list[0]), want)
	want.Email = ptr("user@example.com") // no place for it on Wazzup
	deepEqual(t, "user to wire", userToWire(want), list[0])
}
