package wazzup_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazzup"
)

// TestWireTypesMatchTheDocuments decodes each documented payload into the
// client's wire type and encodes it back: the JSON must come out the same,
// so no field is misnamed, dropped or added.
func TestWireTypesMatchTheDocuments(t *testing.T) {
	tests := []struct {
		file, want string // want: the expected encoding, when not file itself
		v          any
	}{
		{"contacts_upsert_request.json", "", &[]wazzup.Contact{}},
		{"contact_get_response.json", "", &wazzup.Contact{}},
		{"contacts_bulk_delete_request.json", "", &[]string{}},
		{"users_request.json", "", &[]wazzup.User{}},
		{"user_get_response.json", "", &wazzup.User{}},
		{"channels_response.json", "", &[]wazzup.Channel{}},
		{"send_message_request.json", "", &wazzup.SendMessageRequest{}},
		{"send_message_response.json", "", &wazzup.SendMessageResponse{}},
		// Ids typed "any" arrive as numbers too and are sent as strings.
		{"deals_upsert_request.json", "deals_list_response.json", &[]wazzup.Deal{}},
		{"deals_list_response.json", "", &[]wazzup.Deal{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := connectortest.ReadTestdata(t, tt.file)
			if err := json.Unmarshal(raw, tt.v); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			want := raw
			if tt.want != "" {
				want = connectortest.ReadTestdata(t, tt.want)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("encoded %s\nwant    %s", got, want)
			}
		})
	}
}

func TestIDAcceptsStringsAndNumbers(t *testing.T) {
	tests := []struct {
		in   string
		want wazzup.ID
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`"007"`, "007", true},
		{`42`, "42", true},
		{`-3`, "-3", true},
		{`null`, "", true},
		{`true`, "", false},
		{`{}`, "", false},
		{`["a"]`, "", false},
	}
	for _, tt := range tests {
		var id wazzup.ID
		err := json.Unmarshal([]byte(tt.in), &id)
		if (err == nil) != tt.ok || id != tt.want {
			t.Errorf("%s: %q, %v", tt.in, id, err)
		}
	}
	b, _ := json.Marshal(wazzup.ID("42"))
	if string(b) != `"42"` {
		t.Fatalf("an ID is sent as a string, got %s", b)
	}
}
