package wazapin

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/connectortest"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
)

func extrasFake(t *testing.T) *fake {
	return startFake(t, wazapintest.Options{
		Now: func() time.Time { return time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC) },
		Contacts: []wazapintest.Contact{
			{ID: "cnt_1", PhoneNumber: "+628120000001", ExternalSource: ExternalSource, ExternalID: "contact_1"},
			{ID: "cnt_2", PhoneNumber: "+628120000002"},
		}})
}

func TestConsent(t *testing.T) {
	f := extrasFake(t)
	at := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	got, err := f.conn.SetConsent(t.Context(), "contact_1", crmhub.ConsentInput{
		Channel: crmhub.ChannelWhatsApp, Status: crmhub.ConsentOptedOut, Source: ptr("form"), At: &at})
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.RemoteConsent{Channel: crmhub.ChannelWhatsApp, Status: crmhub.ConsentOptedOut, Source: ptr("form"), At: &at}
	connectortest.WantEqual(t, "set", got, want)
	if r := f.s.Requests(); r[len(r)-1].Path != "/v1/contacts/cnt_1/consent/whatsapp" {
		t.Errorf("PUT on %s", r[len(r)-1].Path)
	}
	if _, err := f.conn.SetConsent(t.Context(), "cnt_2", crmhub.ConsentInput{Channel: crmhub.ChannelSMS, Status: crmhub.ConsentOptedIn}); err != nil {
		t.Fatal(err)
	}
	list, err := f.conn.Consents(t.Context(), "contact_1")
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "list", list, []connectors.RemoteConsent{want})
	if c, _ := f.s.Contact("cnt_2"); len(c.Consents) != 1 || c.Consents[0].Status != "opted_in" || c.Consents[0].Channel != "sms" {
		t.Errorf("cnt_2 consents %+v", c.Consents)
	}
	if _, err := f.conn.SetConsent(t.Context(), "contact_9", crmhub.ConsentInput{Channel: crmhub.ChannelSMS}); !IsNotFound(err) {
		t.Errorf("unknown contact: %v", err)
	}
	if _, err := f.conn.SetConsent(t.Context(), "contact_1", crmhub.ConsentInput{Channel: "FAX"}); err == nil {
		t.Error("unknown channel accepted")
	}
}

func TestSuppressions(t *testing.T) {
	f := extrasFake(t)
	now := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	s, err := f.conn.Suppress(t.Context(), "contact_1", crmhub.SuppressionInput{Channel: crmhub.ChannelEmail, Reason: "bounced"})
	if err != nil || s.Channel != crmhub.ChannelEmail || s.Reason != "bounced" || s.LiftedAt != nil || s.ExternalID == "" {
		t.Fatalf("suppress: %+v, %v", s, err)
	}
	lifted, err := f.conn.LiftSuppression(t.Context(), "contact_1", crmhub.ChannelEmail)
	if err != nil || lifted.ExternalID != s.ExternalID || lifted.LiftedAt == nil || !lifted.LiftedAt.Equal(now) || lifted.Reason != "bounced" {
		t.Fatalf("lift: %+v, %v", lifted, err)
	}
	list, err := f.conn.Suppressions(t.Context(), "contact_1")
	if err != nil || len(list) != 1 || list[0].LiftedAt == nil {
		t.Fatalf("list: %+v, %v", list, err)
	}
	again, err := f.conn.Suppress(t.Context(), "contact_1", crmhub.SuppressionInput{Channel: crmhub.ChannelEmail})
	if err != nil || again.LiftedAt != nil || again.ExternalID != s.ExternalID {
		t.Errorf("suppress again: %+v, %v", again, err)
	}
}

func TestNotesAndTags(t *testing.T) {
	f := extrasFake(t)
	n, err := f.conn.AddNote(t.Context(), "cnt_2", "called back")
	if err != nil || n.Text != "called back" || n.ExternalID == "" || n.CreatedAt == nil {
		t.Fatalf("add note: %+v, %v", n, err)
	}
	notes, err := f.conn.Notes(t.Context(), "cnt_2")
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "notes", notes, []connectors.RemoteNote{n})
	if _, err := f.conn.AddNote(t.Context(), "cnt_2", ""); !connectors.HasStatus(err, 422) {
		t.Errorf("empty note: %v", err)
	}

	if err := f.conn.AddTags(t.Context(), "contact_1", []string{"a", "A", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.AddTags(t.Context(), "contact_1", []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.conn.Tags(t.Context(), "contact_1")
	if err != nil {
		t.Fatal(err)
	}
	connectortest.WantEqual(t, "tags", tags, []string{"a", "b", "c"})
	if n := f.s.Calls(wazapintest.RouteAssignTag); n != 3 {
		t.Errorf("%d assignments, want 3 (each missing tag once)", n)
	}
}
