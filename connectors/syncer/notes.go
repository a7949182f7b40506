package syncer

import (
	"errors"
	"strings"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// Notes travel with contacts when the connector implements
// connectors.NoteSyncer. A note is matched by its text (trimmed): the hub's
// notes carry no remote id. Notes are only ever added across systems,
// never edited or deleted there: an edited note arrives as a new one.
//
// Pull: for each contact a page wrote (not one skipped as unchanged), the
// remote notes whose text the hub contact lacks are added to it, as the
// connection (so they are not pushed back).
// Push: for each linked contact whose notes changed in the hub (a
// contact.updated event naming "notes"), the hub notes whose text the
// remote lacks are added there.

// maxNotes bounds the notes compared per contact.
const maxNotes = 100

func (r *runner) hubNoteTexts(id uuid.UUID) (map[string]bool, []string, error) {
	key := crmhub.NotesKey{ContactID: id, First: maxNotes}
	pages, err := r.e.Contacts.NotesByContact(r.as, []crmhub.NotesKey{key})
	if err != nil {
		return nil, nil, err
	}
	set := map[string]bool{}
	var texts []string
	if p := pages[key]; p != nil {
		for _, e := range p.Edges {
			t := strings.TrimSpace(e.Node.Body)
			if t != "" && !set[t] {
				set[t] = true
				texts = append(texts, t)
			}
		}
	}
	return set, texts, nil
}

// remoteNotes reads the texts of a remote contact's notes, trimmed, in the
// remote's order. done is true when the step should end quietly (the
// remote does not keep notes after all); a refusal of this one record is
// counted and reported as ok false; err ends the run.
func (r *runner) remoteNotes(ns connectors.NoteSyncer, ext string) (texts []string, ok, done bool, err error) {
	var notes []connectors.RemoteNote
	err = r.call("read notes", func() (err error) {
		notes, err = ns.Notes(r.as, ext)
		return err
	})
	switch {
	case errors.Is(err, connectors.ErrUnsupported):
		return nil, false, true, nil
	case err != nil && remoteFatal(err):
		return nil, false, false, err
	case err != nil:
		r.remoteItemFailed(err, ext)
		return nil, false, false, nil
	}
	for _, n := range notes {
		texts = append(texts, strings.TrimSpace(n.Text))
	}
	return texts, true, false, nil
}

// pullNotes adds to the pulled contacts the remote notes they lack.
func (r *runner) pullNotes(pulled []pulledContact) error {
	ns, ok := r.remote.(connectors.NoteSyncer)
	if !ok {
		return nil
	}
	for _, p := range pulled {
		notes, ok, done, err := r.remoteNotes(ns, p.ext)
		if err != nil || done {
			return err
		} else if !ok {
			continue
		}
		have, _, err := r.hubNoteTexts(p.local)
		if err != nil {
			return err
		}
		for _, text := range notes {
			if text == "" || have[text] {
				continue
			}
			have[text] = true
			if r.run.DryRun {
				r.addPlan(crmhub.SyncContacts, "NOTE", p.ext)
				continue
			}
			if _, err := r.e.Contacts.AddNote(r.write, p.local, text); err != nil {
				if r.hubItemFailed(err, p.ext) {
					continue
				}
				return err
			}
		}
	}
	return nil
}

// notesChanged reports whether a contact.updated event is a note change.
func notesChanged(ev *crmhub.Event) bool {
	if ev.Type != crmhub.EventContactUpdated {
		return false
	}
	p, err := crmhub.DecodePayload[crmhub.NotesChangedPayload](ev)
	return err == nil && len(p.Changed) == 1 && p.Changed[0] == "notes"
}

// pushNotes adds the hub notes of the given linked contacts that the
// remote lacks.
func (r *runner) pushNotes(ids []uuid.UUID) error {
	ns, ok := r.remote.(connectors.NoteSyncer)
	if !ok || len(ids) == 0 {
		return nil
	}
	links, err := r.e.Store.LinksByLocal(r.as, r.ws, r.conn.ID, crmhub.SyncContacts, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		l, ok := links[id]
		if !ok {
			continue
		}
		_, texts, err := r.hubNoteTexts(id)
		if err != nil {
			return err
		}
		if len(texts) == 0 {
			continue
		}
		notes, ok, done, err := r.remoteNotes(ns, l.ExternalID)
		if err != nil || done {
			return err
		} else if !ok {
			continue
		}
		remote := map[string]bool{}
		for _, text := range notes {
			remote[text] = true
		}
		for _, text := range texts {
			if remote[text] {
				continue
			}
			if r.run.DryRun {
				r.run.Stats.Pushed++
				r.addPlan(crmhub.SyncContacts, "NOTE", l.ExternalID)
				continue
			}
			err := r.call("add note", func() error {
				_, err := ns.AddNote(r.as, l.ExternalID, text)
				return err
			})
			if err != nil && remoteFatal(err) {
				return err
			} else if err != nil {
				r.remoteItemFailed(err, l.ExternalID)
				break
			}
			r.run.Stats.Pushed++
		}
	}
	return nil
}
