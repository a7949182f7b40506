package db

import (
	"testing"

	"github.com/crmhub/crmhub"
)

// TestWorkspaceSubsPushesByFilter: an event reaches the subscriptions to
// its subject and those to every subject whose types it matches, and no
// other: ten thousand subscribers of one contact each must not all wake
// for every change.
func TestWorkspaceSubsPushesByFilter(t *testing.T) {
	sub := func(f crmhub.EventFilter) *subscription {
		s := &subscription{filter: f, live: make(chan *crmhub.Event, 4)}
		s.working.Store(true) // as if busy: the pushes stay in live
		return s
	}
	a := sub(crmhub.EventFilter{SubjectID: "ct_a"})
	a2 := sub(crmhub.EventFilter{SubjectID: "ct_a", Types: []crmhub.EventType{crmhub.EventContactDeleted}})
	b := sub(crmhub.EventFilter{SubjectID: "ct_b"})
	anyUpdate := sub(crmhub.EventFilter{Types: []crmhub.EventType{crmhub.EventContactUpdated}})
	every := sub(crmhub.EventFilter{})
	w := &workspaceSubs{}
	for _, s := range []*subscription{a, a2, b, anyUpdate, every} {
		w.add(s)
	}
	w.push(&crmhub.Event{Type: crmhub.EventContactUpdated, SubjectID: "ct_a"})
	w.push(&crmhub.Event{Type: crmhub.EventDealCreated, SubjectID: "dl_x"})
	for name, c := range map[string]struct {
		s    *subscription
		want int
	}{"a": {a, 1}, "a deleted": {a2, 0}, "b": {b, 0}, "any update": {anyUpdate, 1}, "every": {every, 2}} {
		if got := len(c.s.live); got != c.want {
			t.Errorf("%s: %d events pushed, want %d", name, got, c.want)
		}
	}
	first, again := w.remove(a), w.remove(a) // the second finds nothing to remove
	if first || again || w.n != 4 || len(w.bySubject["ct_a"]) != 1 {
		t.Fatalf("after removing a: n %d, subject a has %d", w.n, len(w.bySubject["ct_a"]))
	}
	for _, s := range []*subscription{a2, b, anyUpdate} {
		w.remove(s)
	}
	if !w.remove(every) || len(w.bySubject) != 0 || len(w.any) != 0 || len(w.all()) != 0 {
		t.Fatalf("not empty after removing all: %d subjects, %d others", len(w.bySubject), len(w.any))
	}
}
