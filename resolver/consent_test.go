package resolver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub/db/dbtest"
)

type consentsOf struct {
	Contact struct {
		Consents       []consent
		ConsentHistory []consent
		Suppressions   []suppression
	}
}

// consents reads a contact's current consents, its history (of one channel
// when channel is not "") and its suppressions.
func (c *client) consents(contactID, channel string) consentsOf {
	c.t.Helper()
	vars := map[string]any{"id": contactID}
	if channel != "" {
		vars["ch"] = channel
	}
	var out consentsOf
	c.do(`query($id: ID!, $ch: Channel) { contact(id: $id) { consents { `+consentFields+` }
		consentHistory(channel: $ch) { `+consentFields+` } suppressions { `+suppressionFields+` } } }`, vars, &out)
	return out
}

// statusesOf renders consents as CHANNEL=STATUS in order.
func statusesOf(cs []consent) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Channel + "=" + c.Status
	}
	return strings.Join(s, ",")
}

func TestSetConsentAndHistory(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	a := c.createContact("Ann", ident("PHONE", "+14155552671"), ident("EMAIL", "ann@example.com"))
	now := clock.Now()

	given := now.Add(-48 * time.Hour)
	got := c.setConsent(a.ID, "WHATSAPP", "OPTED_IN", map[string]any{"source": "web form", "evidence": "checkbox, ip 192.0.2.1",
		"at": given.Format(time.RFC3339)})
	if got.Channel != "WHATSAPP" || got.Status != "OPTED_IN" || deref(got.Source) != "web form" ||
		deref(got.Evidence) != "checkbox, ip 192.0.2.1" || !parseTime(t, got.At).Equal(given) || !parseTime(t, got.RecordedAt).Equal(now) {
		t.Fatalf("setConsent = %+v", got)
	}
	clock.Advance(time.Minute)
	out := c.setConsent(a.ID, "WHATSAPP", "OPTED_OUT", map[string]any{"source": "reply STOP"})
	if !parseTime(t, out.At).Equal(clock.Now()) {
		t.Errorf("a consent without a time is stamped now: %+v", out)
	}
	c.setConsent(a.ID, "EMAIL", "PENDING", nil)
	// A record older than the current state joins the history only.
	late := c.setConsent(a.ID, "WHATSAPP", "OPTED_IN", map[string]any{"evidence": "late", "at": now.Add(-time.Hour).Format(time.RFC3339)})
	if late.Status != "OPTED_OUT" {
		t.Errorf("a late record became the current state: %+v", late)
	}

	s := c.consents(a.ID, "WHATSAPP")
	if got := statusesOf(s.Contact.Consents); got != "EMAIL=PENDING,WHATSAPP=OPTED_OUT" {
		t.Errorf("consents = %s", got)
	}
	h := s.Contact.ConsentHistory
	if got := statusesOf(h); got != "WHATSAPP=OPTED_OUT,WHATSAPP=OPTED_IN,WHATSAPP=OPTED_IN" {
		t.Fatalf("WhatsApp history, newest first = %s", got)
	}
	if deref(h[0].Source) != "reply STOP" || deref(h[1].Evidence) != "late" || deref(h[2].Evidence) != "checkbox, ip 192.0.2.1" ||
		!parseTime(t, h[2].At).Equal(given) {
		t.Errorf("history = %+v", h)
	}
	if all := c.consents(a.ID, "").Contact.ConsentHistory; len(all) != 4 || all[0].Channel != "EMAIL" {
		t.Errorf("history of every channel = %s", statusesOf(all))
	}
	if other := c.consents(a.ID, "SMS").Contact; len(other.ConsentHistory) != 0 {
		t.Errorf("SMS history = %s", statusesOf(other.ConsentHistory))
	}
}

func TestSuppressions(t *testing.T) {
	clock := dbtest.NewClock()
	c := newEnvClock(t, clock).workspace()
	a := c.createContact("Ann", ident("PHONE", "+14155552671"))

	exp := clock.Now().Add(time.Hour)
	wa := c.suppress(a.ID, "WHATSAPP", "  bounced  ", &exp)
	if wa.Channel != "WHATSAPP" || wa.Reason != "bounced" || !wa.Active || wa.LiftedAt != nil || wa.Contact.ID != a.ID ||
		wa.ExpiresAt == nil || !parseTime(t, *wa.ExpiresAt).Equal(exp) {
		t.Fatalf("suppressContact = %+v", wa)
	}
	clock.Advance(time.Second)
	email := c.suppress(a.ID, "EMAIL", "complaint", nil)
	if !email.Active || email.ExpiresAt != nil {
		t.Fatalf("suppression without expiry = %+v", email)
	}

	var lifted struct{ LiftSuppression suppression }
	lift := `mutation($id: ID!) { liftSuppression(id: $id) { ` + suppressionFields + ` } }`
	c.do(lift, map[string]any{"id": email.ID}, &lifted)
	if l := lifted.LiftSuppression; l.Active || l.LiftedAt == nil || l.ID != email.ID {
		t.Fatalf("liftSuppression = %+v", l)
	}
	first := *lifted.LiftSuppression.LiftedAt
	clock.Advance(time.Minute)
	c.do(lift, map[string]any{"id": email.ID}, &lifted)
	if *lifted.LiftSuppression.LiftedAt != first {
		t.Errorf("lifting twice moved liftedAt from %s to %s", first, *lifted.LiftSuppression.LiftedAt)
	}

	list := c.consents(a.ID, "").Contact.Suppressions
	if len(list) != 2 || list[0].ID != email.ID || list[1].ID != wa.ID || !list[1].Active || list[0].Active {
		t.Fatalf("suppressions, newest first = %+v", list)
	}

	// The WhatsApp suppression ends at its expiry by itself.
	clock.Advance(time.Hour)
	list = c.consents(a.ID, "").Contact.Suppressions
	if len(list) != 2 || list[1].ID != wa.ID || list[1].Active {
		t.Fatalf("an expired suppression is still active: %+v", list)
	}
	var n struct {
		Node *suppression `json:"node"`
	}
	c.do(`query($id: ID!) { node(id: $id) { ... on Suppression { `+suppressionFields+` } } }`, map[string]any{"id": wa.ID}, &n)
	if n.Node == nil || n.Node.ID != wa.ID || n.Node.Active {
		t.Fatalf("node(suppression) = %+v", n.Node)
	}

	// Bad input changes nothing.
	past := clock.Now().Add(-time.Minute).Format(time.RFC3339)
	runErrorCases(t, c, []errorCase{
		{"expiresAt in the past", suppressMutation, map[string]any{"contactId": a.ID, "channel": "SMS", "reason": "x", "expiresAt": past},
			"VALIDATION_ERROR", "expiresAt"},
		{"empty reason", suppressMutation, map[string]any{"contactId": a.ID, "channel": "SMS", "reason": " "}, "VALIDATION_ERROR", "reason"},
		{"unknown channel", suppressMutation, map[string]any{"contactId": a.ID, "channel": "FAX", "reason": "x"}, "VALIDATION_ERROR", "channel"},
		{"missing contact", suppressMutation, map[string]any{"contactId": "ct_" + strings.Repeat("0", 32), "channel": "SMS", "reason": "x"}, "NOT_FOUND", "-"},
		{"lift a contact id", lift, map[string]any{"id": a.ID}, "NOT_FOUND", "-"},
	})
}

func TestConsentBadInput(t *testing.T) {
	c := newEnv(t).workspace()
	a := c.createContact("Ann", ident("PHONE", "+14155552671"))
	c.setConsent(a.ID, "SMS", "OPTED_IN", nil)
	other := newEnv(t).workspace().createContact("Elsewhere", ident("EMAIL", "x@example.com"))
	vars := func(kv ...any) map[string]any {
		m := map[string]any{"contactId": a.ID, "channel": "SMS", "status": "OPTED_OUT"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	runErrorCases(t, c, []errorCase{
		{"unknown channel", setConsentMutation, vars("channel", "FAX"), "VALIDATION_ERROR", "channel"},
		{"unknown channel (inline)", `mutation($contactId: ID!) { setConsent(contactId: $contactId, channel: FAX, status: OPTED_IN) { status } }`,
			vars(), "VALIDATION_ERROR", "-"},
		{"unknown status", setConsentMutation, vars("status", "MAYBE"), "VALIDATION_ERROR", "status"},
		{"missing contact", setConsentMutation, vars("contactId", "ct_"+strings.Repeat("0", 32)), "NOT_FOUND", "-"},
		{"malformed contact id", setConsentMutation, vars("contactId", "nope"), "NOT_FOUND", "-"},
		{"a contact of another workspace", setConsentMutation, vars("contactId", other.ID), "NOT_FOUND", "-"},
		{"a time in the future", setConsentMutation, vars("at", time.Now().Add(time.Hour).Format(time.RFC3339)), "VALIDATION_ERROR", "at"},
		{"source too long", setConsentMutation, vars("source", strings.Repeat("s", 201)), "VALIDATION_ERROR", "source"},
	})
}

// TestMergeKeepsMostRestrictiveConsent merges two contacts through the API:
// per channel the most restrictive consent survives, histories and
// suppressions move to the target.
func TestMergeKeepsMostRestrictiveConsent(t *testing.T) {
	c := newEnv(t).workspace()
	target := c.createContact("Target", ident("EMAIL", "t@example.com"))
	source := c.createContact("Source", ident("PHONE", "+14155552671"))
	for ch, st := range map[string]string{"WHATSAPP": "OPTED_IN", "EMAIL": "OPTED_OUT", "SMS": "PENDING"} {
		c.setConsent(target.ID, ch, st, nil)
	}
	for ch, st := range map[string]string{"WHATSAPP": "OPTED_OUT", "EMAIL": "OPTED_IN", "SMS": "OPTED_IN", "TELEGRAM": "OPTED_IN"} {
		c.setConsent(source.ID, ch, st, nil)
	}
	sup := c.suppress(source.ID, "VK", "blocked us", nil)

	c.do(mergeQuery, map[string]any{"t": target.ID, "s": []string{source.ID}}, nil)

	s := c.consents(target.ID, "").Contact
	if got := statusesOf(s.Consents); got != "EMAIL=OPTED_OUT,SMS=PENDING,TELEGRAM=OPTED_IN,WHATSAPP=OPTED_OUT" {
		t.Errorf("consents after merge = %s", got)
	}
	if len(s.ConsentHistory) != 7 {
		t.Errorf("history after merge has %d entries: %s", len(s.ConsentHistory), statusesOf(s.ConsentHistory))
	}
	if len(s.Suppressions) != 1 || s.Suppressions[0].ID != sup.ID || s.Suppressions[0].Contact.ID != target.ID {
		t.Errorf("suppressions after merge = %+v", s.Suppressions)
	}
	// The source id now leads to the target, with the merged state.
	if via := c.consents(source.ID, "").Contact; statusesOf(via.Consents) != statusesOf(s.Consents) {
		t.Errorf("consents through the source id = %s", statusesOf(via.Consents))
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
