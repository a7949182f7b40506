package crmhub_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
)

// TestEventPayloadJSON pins the JSON of every event payload: webhook
// bodies and Event.payload carry it to clients, so a key, a null or an
// omitted field must not change by accident. Each struct appears as
// sparse as it gets (nulls, omitted fields, empty lists) and in full.
func TestEventPayloadJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	s := func(v string) *string { return &v }
	amount := 12.5
	tests := []struct {
		name    string
		payload crmhub.EventPayload
		want    string
	}{
		{"contact updated, sparse", crmhub.ContactPayload{ID: "ct_1", Changed: []string{"name"}},
			`{"id":"ct_1","name":null,"uri":null,"customFields":null,"tags":null,"changed":["name"]}`},
		{"contact created", crmhub.ContactPayload{ID: "ct_1", Name: s("Ann"), URI: s("https://x.io"),
			CustomFields: map[string]any{"n": 1.0, "gone": nil}, Tags: []string{"vip"},
			Identities: []crmhub.IdentityPayload{{Type: "EMAIL", Value: "a@x.io"}, {Type: "EXTERNAL_ID", Value: "7", Source: s("conn_1")}}},
			`{"id":"ct_1","name":"Ann","uri":"https://x.io","customFields":{"gone":null,"n":1},"tags":["vip"],` +
				`"identities":[{"type":"EMAIL","value":"a@x.io","source":null},{"type":"EXTERNAL_ID","value":"7","source":"conn_1"}]}`},
		{"identity linked", crmhub.IdentityLinkedPayload{ContactID: "ct_1", IdentityPayload: crmhub.IdentityPayload{Type: "PHONE", Value: "+79991114433"}},
			`{"contactId":"ct_1","type":"PHONE","value":"+79991114433","source":null}`},
		{"notes changed", crmhub.NotesChangedPayload{ID: "ct_1", Changed: []string{"notes"}, Note: crmhub.NoteChange{ID: "nt_1", Change: "added"}},
			`{"id":"ct_1","changed":["notes"],"note":{"id":"nt_1","change":"added"}}`},
		{"deleted", crmhub.DeletedPayload{ID: "deal_1"}, `{"id":"deal_1"}`},
		{"contact merged", crmhub.ContactMergedPayload{ID: "ct_1", SourceIDs: []string{}, MovedIdentities: 2},
			`{"id":"ct_1","sourceIds":[],"movedIdentities":2,"movedNotes":0}`},
		{"first consent", crmhub.ConsentChangedPayload{ContactID: "ct_1", Channel: crmhub.ChannelSMS, Status: crmhub.ConsentOptedIn, At: at},
			`{"contactId":"ct_1","channel":"SMS","status":"OPTED_IN","previousStatus":"","source":null,"at":"2026-01-02T03:04:05.6Z"}`},
		{"consent changed", crmhub.ConsentChangedPayload{ContactID: "ct_1", Channel: crmhub.ChannelEmail, Status: crmhub.ConsentOptedOut,
			PreviousStatus: crmhub.ConsentOptedIn, Source: s("form"), At: at},
			`{"contactId":"ct_1","channel":"EMAIL","status":"OPTED_OUT","previousStatus":"OPTED_IN","source":"form","at":"2026-01-02T03:04:05.6Z"}`},
		{"suppressed", crmhub.SuppressionChangedPayload{ContactID: "ct_1", ID: "sup_1", Channel: crmhub.ChannelSMS, Reason: "asked", Change: "suppressed"},
			`{"contactId":"ct_1","id":"sup_1","channel":"SMS","reason":"asked","expiresAt":null,"change":"suppressed"}`},
		{"suppression lifted", crmhub.SuppressionChangedPayload{ContactID: "ct_1", ID: "sup_1", Channel: crmhub.ChannelSMS, Reason: "asked",
			ExpiresAt: &at, Change: "lifted"},
			`{"contactId":"ct_1","id":"sup_1","channel":"SMS","reason":"asked","expiresAt":"2026-01-02T03:04:05.6Z","change":"lifted"}`},
		{"deal created, sparse", crmhub.DealPayload{ID: "deal_1", Status: crmhub.DealOpen, ContactIDs: []string{}, ExternalRefs: []crmhub.ExternalRefPayload{}},
			`{"id":"deal_1","name":null,"status":"OPEN","amount":null,"currency":null,"stage":null,"responsibleUserId":null,` +
				`"contactIds":[],"externalRefs":[],"closedAt":null}`},
		{"deal updated", crmhub.DealPayload{ID: "deal_1", Name: s("Big"), Status: crmhub.DealWon, Amount: &amount, Currency: s("EUR"),
			Stage: s("won"), ResponsibleUserID: s("usr_1"), ContactIDs: []string{"ct_1"},
			ExternalRefs: []crmhub.ExternalRefPayload{{Source: "conn_1", ExternalID: "9"}}, ClosedAt: &at, Changed: []string{"status"}},
			`{"id":"deal_1","name":"Big","status":"WON","amount":12.5,"currency":"EUR","stage":"won","responsibleUserId":"usr_1",` +
				`"contactIds":["ct_1"],"externalRefs":[{"source":"conn_1","externalId":"9"}],"closedAt":"2026-01-02T03:04:05.6Z","changed":["status"]}`},
		{"conversation created", crmhub.ConversationPayload{ID: "cv_1", ContactID: "ct_1", Channel: crmhub.ChannelWhatsApp, ChatID: "79991114433",
			Status: crmhub.ConversationOpen},
			`{"id":"cv_1","contactId":"ct_1","channel":"WHATSAPP","chatId":"79991114433","status":"OPEN","unanswered":false}`},
		{"conversation status changed", crmhub.ConversationPayload{ID: "cv_1", ContactID: "ct_1", Channel: crmhub.ChannelWhatsApp,
			ChatID: "79991114433", Status: crmhub.ConversationClosed, Unanswered: true, AssigneeID: s("usr_1"), PreviousStatus: crmhub.ConversationOpen},
			`{"id":"cv_1","contactId":"ct_1","channel":"WHATSAPP","chatId":"79991114433","status":"CLOSED","unanswered":true,` +
				`"assigneeId":"usr_1","previousStatus":"OPEN"}`},
		{"message received", crmhub.MessagePayload{ID: "msg_1", ConversationID: "cv_1", Direction: crmhub.Inbound, Type: crmhub.MessageImage,
			Status: crmhub.MessageDelivered},
			`{"id":"msg_1","conversationId":"cv_1","direction":"INBOUND","type":"IMAGE","text":null,"contentUrl":null,"status":"DELIVERED"}`},
		{"message status changed", crmhub.MessagePayload{ID: "msg_1", ConversationID: "cv_1", Direction: crmhub.Outbound, Type: crmhub.MessageText,
			Text: s("hi"), ContentURL: s("https://x.io/a.png"), Status: crmhub.MessageFailed, ErrorCode: s("470"), PreviousStatus: crmhub.MessageQueued},
			`{"id":"msg_1","conversationId":"cv_1","direction":"OUTBOUND","type":"TEXT","text":"hi","contentUrl":"https://x.io/a.png",` +
				`"status":"FAILED","errorCode":"470","previousStatus":"QUEUED"}`},
		{"user created", crmhub.UserPayload{ID: "usr_1", ExternalID: "7", Name: "Bob", Created: true},
			`{"id":"usr_1","externalId":"7","name":"Bob","email":null,"created":true}`},
		{"user updated", crmhub.UserPayload{ID: "usr_1", ExternalID: "7", Name: "Bob", Email: s("b@x.io"), Changed: []string{"email"}},
			`{"id":"usr_1","externalId":"7","name":"Bob","email":"b@x.io","created":false,"changed":["email"]}`},
		{"user deleted", crmhub.UserDeletedPayload{ID: "usr_1", ExternalID: "7"}, `{"id":"usr_1","externalId":"7"}`},
		{"sync completed", crmhub.SyncCompletedPayload{ID: "sync_1", ConnectionID: "conn_1", Mode: crmhub.SyncFull, DryRun: true,
			Status: crmhub.SyncSucceeded, Stats: crmhub.SyncStats{Fetched: 3, Created: 1}},
			`{"id":"sync_1","connectionId":"conn_1","mode":"FULL","dryRun":true,"status":"SUCCEEDED","stats":` +
				`{"fetched":3,"created":1,"updated":0,"unchanged":0,"conflicts":0,"failed":0,"pushed":0,"deleted":0}}`},
		{"sync record gone", crmhub.SyncRecordGonePayload{ConnectionID: "conn_1", Entity: crmhub.SyncContacts, ExternalID: "7",
			SubjectID: "ct_1", Action: "unlinked"},
			`{"connectionId":"conn_1","entity":"CONTACTS","externalId":"7","subjectId":"ct_1","action":"unlinked"}`},
		{"identity conflict", crmhub.IdentityConflictPayload{ID: "icf_1", ConnectionID: "conn_1", ExternalID: "7", CandidateIDs: []string{"ct_1", "ct_2"}},
			`{"id":"icf_1","connectionId":"conn_1","externalId":"7","candidateIds":["ct_1","ct_2"]}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.payload)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tt.name, got, err, tt.want)
		}
		// What a consumer decodes with the same struct is what was sent.
		back := reflect.New(reflect.TypeOf(tt.payload))
		if err := json.Unmarshal(got, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), tt.payload) {
			t.Errorf("%s: decoded %+v (%v), want %+v", tt.name, back.Elem().Interface(), err, tt.payload)
		}
	}
	e := &crmhub.Event{Type: crmhub.EventMessageSent, Payload: json.RawMessage(`{"id":"msg_1","conversationId":"cv_1","status":"SENT"}`)}
	if m, err := crmhub.DecodePayload[crmhub.MessagePayload](e); err != nil || m.ConversationID != "cv_1" || m.Status != crmhub.MessageSent {
		t.Errorf("DecodePayload = %+v, %v", m, err)
	}
}

func TestEventTypes(t *testing.T) {
	seen := map[crmhub.EventType]bool{}
	for _, typ := range crmhub.EventTypes {
		if !typ.Valid() || seen[typ] {
			t.Errorf("%q: invalid or listed twice", typ)
		}
		seen[typ] = true
		var b strings.Builder
		typ.MarshalGQL(&b)
		var back crmhub.EventType
		if err := back.UnmarshalGQL(string(typ)); err != nil || b.String() != strconv.Quote(string(typ)) || back != typ {
			t.Errorf("%q: GraphQL round trip gave %s, %q, %v", typ, b.String(), back, err)
		}
	}
	if err := crmhub.ValidateEventTypes([]string{"contact.created", "deal.deleted"}, "events"); err != nil {
		t.Errorf("known types as strings: %v", err)
	}
	err := crmhub.ValidateEventTypes([]crmhub.EventType{crmhub.EventUserDeleted, "contact.exploded"}, "filter.types")
	if e, ok := err.(*crmhub.Error); !ok || e.Code != crmhub.EINVALID || e.Field != "filter.types[1]" {
		t.Errorf("unknown type: %v, want VALIDATION_ERROR on filter.types[1]", err)
	}
	if err := crmhub.ValidateEventTypes(append(slices.Clone(crmhub.EventTypes), crmhub.EventUserDeleted), "types"); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("more types than there are: %v", err)
	}
}
