package syncer_test

import (
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazapin"
	"github.com/crmhub/crmhub/connectors/wazapin/wazapintest"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
	"github.com/google/uuid"
)

// bothSides is one CRM under test: how to read and rename its copy of a
// contact between two runs.
type bothSides struct {
	env          *env
	ext          string
	remoteName   func() string
	renameRemote func(name string)
}

// conflictCase runs the scenario of issue 13: a name changed in the hub
// (through an API key) and at the remote between two runs. The run lists
// the one decision, both sides end with the winner's name, and the next
// run finds nothing to decide.
func conflictCase(t *testing.T, s bothSides, want crmhub.ConflictWinner) {
	t.Helper()
	e := s.env
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded || len(run.FieldConflicts) != 0 {
		t.Fatalf("first run %s %+v %+v", run.Status, run.Errors, run.FieldConflicts)
	}
	id := e.hubContact(s.ext)
	hubName := "Renamed in the hub"
	if _, err := e.contacts.UpdateContact(e.ctx, id, crmhub.ContactPatch{Name: &hubName}); err != nil {
		t.Fatal(err)
	}
	s.renameRemote("Renamed at the remote")

	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded {
		t.Fatalf("second run %s %+v", run.Status, run.Errors)
	}
	if len(run.FieldConflicts) != 1 {
		t.Fatalf("field conflicts %+v, want one", run.FieldConflicts)
	}
	fc := run.FieldConflicts[0]
	if fc.RecordID != s.ext || fc.Field != "name" || fc.Winner != want || fc.HubValue == nil || *fc.HubValue != `"Renamed in the hub"` ||
		fc.RemoteValue == nil || *fc.RemoteValue != `"Renamed at the remote"` {
		t.Fatalf("field conflict %+v (hub %v, remote %v), want %s to win", fc, deref(fc.HubValue), deref(fc.RemoteValue), want)
	}
	wantName := hubName
	if want == crmhub.WinnerRemote {
		wantName = "Renamed at the remote"
	}
	checkBothSides := func(when string) {
		t.Helper()
		cs, err := e.contacts.ContactsByIDs(e.ctx, []uuid.UUID{id})
		if err != nil || cs[0] == nil || cs[0].Name == nil || *cs[0].Name != wantName {
			t.Fatalf("%s: hub contact %+v %v, want name %q", when, cs, err, wantName)
		}
		if got := s.remoteName(); got != wantName {
			t.Fatalf("%s: the remote's name is %q, want %q", when, got, wantName)
		}
	}
	checkBothSides("after the deciding run")

	run = e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || len(run.FieldConflicts) != 0 {
		t.Fatalf("the run after the decision: %s %+v %+v", run.Status, run.Errors, run.FieldConflicts)
	}
	checkBothSides("a run later")
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestConflictPolicyWazzup(t *testing.T) {
	for _, tc := range []struct {
		policy crmhub.ConflictPolicy
		want   crmhub.ConflictWinner
	}{
		// Wazzup reports no change time: NEWEST_WINS keeps the hub's value.
		{crmhub.NewestWins, crmhub.WinnerHub},
		{crmhub.HubWins, crmhub.WinnerHub},
		{crmhub.RemoteWins, crmhub.WinnerRemote},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, wazzuptest.Options{Contacts: remote(3), Users: users()},
				crmhub.ConnectionInput{ConflictPolicy: tc.policy, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
			if e.conn.ConflictPolicy != tc.policy {
				t.Fatalf("connection policy %q", e.conn.ConflictPolicy)
			}
			conflictCase(t, bothSides{env: e, ext: "c00001",
				remoteName: func() string { c, _ := e.fake.Contact("c00001"); return c.Name },
				renameRemote: func(name string) {
					c, _ := e.fake.Contact("c00001")
					c.Name = name
					e.fake.PutContacts(c)
				}}, tc.want)
		})
	}
}

func TestConflictPolicyWazapin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy crmhub.ConflictPolicy
		// remoteAt is the remote's change time relative to the hub's.
		remoteAt time.Duration
		want     crmhub.ConflictWinner
	}{
		// Wazapin reports updated_at: NEWEST_WINS compares it with the
		// time the hub's name was set.
		{"newest is the remote", crmhub.NewestWins, time.Hour, crmhub.WinnerRemote},
		{"newest is the hub", crmhub.NewestWins, -time.Minute, crmhub.WinnerHub},
		{"hub wins", crmhub.HubWins, time.Hour, crmhub.WinnerHub},
		{"remote wins", crmhub.RemoteWins, -time.Minute, crmhub.WinnerRemote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := wazapintest.NewServer(t, wazapintest.Options{Contacts: []wazapintest.Contact{
				{ID: "cnt_1", PhoneNumber: "+628120000001", Name: "Ani"},
				{ID: "cnt_2", PhoneNumber: "+628120000002", Name: "Budi"},
			}})
			e := newEnvFor(t, crmhub.ConnectionInput{Kind: crmhub.ConnectorWazapin, Name: "wazapin", BaseURL: fake.URL,
				APIKey: fake.APIKey(), Entities: []crmhub.SyncEntity{crmhub.SyncContacts}, ConflictPolicy: tc.policy},
				wazapin.NewConnector)
			conflictCase(t, bothSides{env: e, ext: "cnt_1",
				remoteName: func() string { c, _ := fake.Contact("cnt_1"); return c.Name },
				renameRemote: func(name string) {
					c, _ := fake.Contact("cnt_1")
					c.Name, c.UpdatedAt = name, time.Now().Add(tc.remoteAt).UTC()
					fake.PutContacts(c)
				}}, tc.want)
		})
	}
}

// A field changed on one side only is no conflict: the hub's rename goes
// out, the remote's change of another record comes in, and neither undoes
// the other.
func TestOneSidedChangesAreNotConflicts(t *testing.T) {
	e := newEnv(t, wazzuptest.Options{Contacts: remote(3), Users: users()},
		crmhub.ConnectionInput{ConflictPolicy: crmhub.RemoteWins, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
	if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded {
		t.Fatalf("first run %+v", run.Errors)
	}
	id := e.hubContact("c00001")
	hubName := "Hub only"
	if _, err := e.contacts.UpdateContact(e.ctx, id, crmhub.ContactPatch{Name: &hubName}); err != nil {
		t.Fatal(err)
	}
	// The remote changes the same record elsewhere (its URI): the record's
	// fingerprint differs, so the pull applies it, but its name is the
	// base's and must not overwrite the hub's rename.
	c, _ := e.fake.Contact("c00001")
	c.URI = "https://example.com/c1"
	e.fake.PutContacts(c)
	run := e.run(crmhub.SyncIncremental, false)
	if run.Status != crmhub.SyncSucceeded || len(run.FieldConflicts) != 0 {
		t.Fatalf("run %s %+v %+v", run.Status, run.Errors, run.FieldConflicts)
	}
	cs, _ := e.contacts.ContactsByIDs(e.ctx, []uuid.UUID{id})
	if *cs[0].Name != hubName || cs[0].URI == nil || *cs[0].URI != c.URI {
		t.Fatalf("hub contact %+v: want the hub's name and the remote's uri", cs[0])
	}
	if rc, _ := e.fake.Contact("c00001"); rc.Name != hubName {
		t.Fatalf("remote name %q, want %q", rc.Name, hubName)
	}
}

// TestDealConflictPolicy: a deal's name changed on both sides is decided
// like a contact's, and the push carries a hub win to Wazzup.
func TestDealConflictPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy crmhub.ConflictPolicy
		want   string
	}{{crmhub.RemoteWins, "Fleet (remote)"}, {crmhub.HubWins, "Fleet (hub)"}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, wazzuptest.Options{Contacts: remote(2), Users: users(),
				Deals: []wazzuptest.Deal{{ID: 7, Name: "Fleet", ResponsibleUserID: "u1", Contacts: []string{"c00000"}}}},
				crmhub.ConnectionInput{ConflictPolicy: tc.policy})
			if run := e.run(crmhub.SyncFull, false); run.Status != crmhub.SyncSucceeded {
				t.Fatalf("first run %+v", run.Errors)
			}
			all, err := e.deals.Deals(e.ctx, crmhub.DealFilter{}, 10, "")
			if err != nil || len(all.Edges) != 1 {
				t.Fatalf("deals %+v %v", all, err)
			}
			id := all.Edges[0].Node.ID
			if _, err := e.deals.UpsertDeals(e.ctx, []crmhub.DealUpsertInput{{ID: &id, Name: ptr("Fleet (hub)")}}); err != nil {
				t.Fatal(err)
			}
			d, _ := e.fake.Deal(7)
			d.Name = "Fleet (remote)"
			e.fake.PutDeals(d)
			run := e.run(crmhub.SyncIncremental, false)
			if run.Status != crmhub.SyncSucceeded || len(run.FieldConflicts) != 1 || run.FieldConflicts[0].Field != "name" ||
				run.FieldConflicts[0].RecordID != "7" {
				t.Fatalf("run %s %+v %+v", run.Status, run.Errors, run.FieldConflicts)
			}
			ds, _ := e.deals.DealsByIDs(e.ctx, []uuid.UUID{id})
			if got, _ := e.fake.Deal(7); *ds[0].Name != tc.want || got.Name != tc.want {
				t.Fatalf("hub deal %q, remote deal %q, want both %q", *ds[0].Name, got.Name, tc.want)
			}
		})
	}
}
