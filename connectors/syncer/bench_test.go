package syncer_test

import (
	"testing"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors/wazzup/wazzuptest"
)

// BenchmarkPull pulls 5,000 contacts from the fake Wazzup over HTTP: one
// op of "first" is a full pull into an empty workspace (every record
// created), one op of "unchanged" is the next pass over the same remote
// (every record skipped by fingerprint, no upsert at all). The ratio of
// the two is what a quiet scheduled run saves.
func BenchmarkPull(b *testing.B) {
	const n = 5000
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			e := newEnv(b, wazzuptest.Options{Contacts: remote(n), Users: users()},
				crmhub.ConnectionInput{Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
			b.StartTimer()
			if run := e.run(crmhub.SyncFull, false); run.Stats.Created != n+5 {
				b.Fatalf("first pass %+v", run.Stats)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		e := newEnv(b, wazzuptest.Options{Contacts: remote(n), Users: users()},
			crmhub.ConnectionInput{Direction: crmhub.SyncPull, Entities: []crmhub.SyncEntity{crmhub.SyncUsers, crmhub.SyncContacts}})
		e.run(crmhub.SyncFull, false)
		upserted := e.upserts.count()
		for b.Loop() {
			if run := e.run(crmhub.SyncIncremental, false); run.Stats.Unchanged != n+5 {
				b.Fatalf("unchanged pass %+v", run.Stats)
			}
		}
		if e.upserts.count() != upserted {
			b.Fatal("an unchanged pass upserted contacts")
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
