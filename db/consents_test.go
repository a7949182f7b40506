package db_test

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
	"github.com/crmhub/crmhub/db/dbtest"
	"github.com/google/uuid"
)

func TestConsentsAndHistory(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	contacts, consents := db.NewContactService(d), db.NewConsentService(d)
	ctx, ws, _ := dbtest.Workspace(t, d)
	c, err := contacts.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{phone("+79990001122")}})
	if err != nil {
		t.Fatal(err)
	}
	set := func(status crmhub.ConsentStatus, at *time.Time) *crmhub.Consent {
		t.Helper()
		got, err := consents.SetConsent(ctx, c.ID, crmhub.ConsentInput{Channel: crmhub.ChannelWhatsApp, Status: status,
			Source: ptr("web form"), Evidence: ptr("ip 203.0.113.7"), At: at})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	set(crmhub.ConsentOptedIn, nil)
	clock.Advance(time.Hour)
	set(crmhub.ConsentOptedOut, nil)
	// A record dated before the current one joins the history only.
	old := clock.Now().Add(-30 * time.Minute)
	if got := set(crmhub.ConsentOptedIn, &old); got.Status != crmhub.ConsentOptedOut {
		t.Errorf("an older record replaced the current state: %s", got.Status)
	}
	cur, _ := consents.ConsentsByContact(ctx, []uuid.UUID{c.ID})
	if len(cur[c.ID]) != 1 || cur[c.ID][0].Status != crmhub.ConsentOptedOut {
		t.Errorf("current consents: %+v", cur[c.ID])
	}
	key := crmhub.ConsentHistoryKey{ContactID: c.ID, Channel: crmhub.ChannelWhatsApp}
	hist, _ := consents.ConsentHistory(ctx, []crmhub.ConsentHistoryKey{key, {ContactID: c.ID, Channel: crmhub.ChannelEmail}})
	if h := hist[key]; len(h) != 3 || h[0].Status != crmhub.ConsentOptedOut || h[2].Status != crmhub.ConsentOptedIn || *h[0].Evidence != "ip 203.0.113.7" {
		t.Errorf("history newest first: %+v", h)
	}
	if n := countEvents(t, d, ws.ID, "consent.changed"); n != 2 {
		t.Errorf("consent.changed events = %d, want 2 (the late record changes nothing)", n)
	}

	for _, tc := range []struct {
		in    crmhub.ConsentInput
		field string
	}{
		{crmhub.ConsentInput{Channel: "FAX", Status: crmhub.ConsentOptedIn}, "channel"},
		{crmhub.ConsentInput{Channel: crmhub.ChannelSMS, Status: "MAYBE"}, "status"},
		{crmhub.ConsentInput{Channel: crmhub.ChannelSMS, Status: crmhub.ConsentOptedIn, At: ptr(clock.Now().Add(time.Hour))}, "at"},
	} {
		if _, err := consents.SetConsent(ctx, c.ID, tc.in); err == nil || err.(*crmhub.Error).Field != tc.field {
			t.Errorf("SetConsent(%+v): %v, want VALIDATION_ERROR on %s", tc.in, err, tc.field)
		}
	}
	if _, err := consents.SetConsent(ctx, uuid.New(), crmhub.ConsentInput{Channel: crmhub.ChannelSMS, Status: crmhub.ConsentOptedIn}); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("consent for a missing contact: %v", err)
	}
	if n := countEvents(t, d, ws.ID, "consent.changed"); n != 2 {
		t.Errorf("refused calls emitted events")
	}
}

func TestSuppressionExpiry(t *testing.T) {
	clock := dbtest.NewClock()
	d := dbtest.Open(t, clock)
	contacts, consents := db.NewContactService(d), db.NewConsentService(d)
	ctx, _, _ := dbtest.Workspace(t, d)
	c, _ := contacts.CreateContact(ctx, crmhub.ContactInput{Identifiers: []crmhub.Identifier{email("s@x.io")}})
	if _, err := consents.SuppressContact(ctx, c.ID, crmhub.SuppressionInput{Channel: crmhub.ChannelEmail, Reason: "bounce",
		ExpiresAt: ptr(clock.Now().Add(-time.Second))}); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("expiry in the past: %v", err)
	}
	if _, err := consents.SuppressContact(ctx, c.ID, crmhub.SuppressionInput{Channel: crmhub.ChannelEmail, Reason: " "}); crmhub.ErrorCode(err) != crmhub.EINVALID {
		t.Errorf("empty reason: %v", err)
	}
	s, err := consents.SuppressContact(ctx, c.ID, crmhub.SuppressionInput{Channel: crmhub.ChannelEmail, Reason: "bounce",
		ExpiresAt: ptr(clock.Now().Add(time.Hour))})
	if err != nil || !s.ActiveAt(clock.Now()) {
		t.Fatalf("suppress: %+v %v", s, err)
	}
	clock.Advance(time.Hour)
	list, _ := consents.SuppressionsByContact(ctx, []uuid.UUID{c.ID})
	if len(list[c.ID]) != 1 || list[c.ID][0].ActiveAt(clock.Now()) {
		t.Errorf("suppression still active after expiry: %+v", list[c.ID])
	}
	lifted, err := consents.LiftSuppression(ctx, s.ID)
	if err != nil || lifted.LiftedAt == nil {
		t.Errorf("lift: %+v %v", lifted, err)
	}
	ctxB, _, _ := dbtest.Workspace(t, d)
	if _, err := consents.LiftSuppression(ctxB, s.ID); crmhub.ErrorCode(err) != crmhub.ENOTFOUND {
		t.Errorf("lifting another workspace's suppression: %v", err)
	}
}
