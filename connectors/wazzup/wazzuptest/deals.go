package wazzuptest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Deal is a stored v2 deal. Ids the document types "any" are kept as text.
type Deal struct {
	ID                int64    `json:"id"`
	ResponsibleUserID string   `json:"responsibleUserId,omitempty"`
	Name              string   `json:"name"`
	Closed            bool     `json:"closed"`
	Contacts          []string `json:"contacts"`
}

func (d Deal) key() int64 { return d.ID }

func (d Deal) clone() Deal {
	d.Contacts = slices.Clone(d.Contacts)
	if d.Contacts == nil {
		d.Contacts = []string{}
	}
	return d
}

// PutDeals stores deals as given, without validation.
func (f *Fake) PutDeals(deals ...Deal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deals.put(deals...)
}

// Deals returns the stored deals in ascending id order.
func (f *Fake) Deals() []Deal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deals.sorted()
}

// Deal returns the stored deal with id.
func (f *Fake) Deal(id int64) (Deal, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deals.get(id)
}

func (f *Fake) upsertDeals(w http.ResponseWriter, r *http.Request) {
	items, err := readArray(r)
	if err != nil {
		validationError(w, "The body must be an array of deals.", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	deals, bad := validateBatch(items, f.parseDeal)
	if len(bad) > 0 {
		validationError(w, "One or more of provided deals are not valid.", bad)
		return
	}
	f.deals.put(deals...)
	w.WriteHeader(http.StatusOK)
}

// parseDeal checks one deal against the documented fields; f.mu is held.
func (f *Fake) parseDeal(o object) (Deal, problems) {
	var d Deal
	var p problems
	if !o.present("id") || json.Unmarshal(o["id"], &d.ID) != nil {
		p.add("id")
	}
	var ok bool
	if d.ResponsibleUserID, ok = o.anyID("responsibleUserId", 0, false); !ok || !f.knownUser(d.ResponsibleUserID) {
		p.add("responsibleUserId")
	}
	if d.Name, ok = o.str("name", 0, false); !ok {
		p.add("name")
	}
	if o.present("closed") && json.Unmarshal(o["closed"], &d.Closed) != nil {
		p.add("closed")
	}
	var contacts []json.RawMessage
	if o.present("contacts") && json.Unmarshal(o["contacts"], &contacts) != nil {
		p.add("contacts")
	}
	d.Contacts = []string{}
	for _, raw := range contacts {
		id, ok := object{"id": raw}.anyID("id", 0, true)
		if !ok {
			p.add("contacts")
		}
		d.Contacts = append(d.Contacts, id)
	}
	return d, p
}

// dealOrder is the comparison each documented orderBy value selects.
var dealOrder = map[string]func(a, b Deal) int{
	"id": func(a, b Deal) int { return cmp.Compare(a.ID, b.ID) },
	"name": func(a, b Deal) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	},
	"responsibleUserId": func(a, b Deal) int {
		return cmp.Or(strings.Compare(a.ResponsibleUserID, b.ResponsibleUserID), cmp.Compare(a.ID, b.ID))
	},
}

func (f *Fake) listDeals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, ok := offsetParam(r)
	order := dealOrder[cmp.Or(q.Get("orderBy"), "id")]
	dir := cmp.Or(q.Get("orderDirection"), "asc")
	if !ok || order == nil || (dir != "asc" && dir != "desc") {
		validationError(w, "offset must be a non-negative integer, orderBy one of id, name, responsibleUserId, orderDirection asc or desc.", nil)
		return
	}
	deals := f.Deals()
	slices.SortFunc(deals, order)
	if dir == "desc" {
		slices.Reverse(deals)
	}
	writeJSON(w, http.StatusOK, page(deals, offset))
}

// dealID reads the {id} path value as a deal id.
func dealID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil
}

func (f *Fake) getDeal(w http.ResponseWriter, r *http.Request) {
	id, ok := dealID(r)
	d, found := f.Deal(id)
	if !ok || !found {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (f *Fake) deleteDeal(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := dealID(r); !ok || !f.deals.remove(id) {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}
