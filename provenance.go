package crmhub

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// FieldSource says who set a field's current value and when: Source is the
// global id of the API key (key_...) or connection (conn_...) that wrote
// it, SourceMerge for a value a merge carried over, or "system" for the
// server's own tools.
type FieldSource struct {
	Source string    `json:"source"`
	At     time.Time `json:"at"`
}

// SourceMerge is the source of a value a merge carried over from a merged
// contact.
const SourceMerge = "merge"

// CustomFieldPrefix starts the field name of a custom field's provenance:
// customFields.<key>.
const CustomFieldPrefix = "customFields."

// FieldSources is the provenance of a contact's or deal's fields, by field
// name (name, responsibleUser, customFields.<key>; for deals also status,
// amount, currency and stage). It is what NEWEST_WINS reads as the hub's
// change time of a field.
type FieldSources map[string]FieldSource

// Set records that source set field at at. A nil map is allocated.
func (f *FieldSources) Set(source string, at time.Time, fields ...string) {
	if len(fields) == 0 {
		return
	}
	if *f == nil {
		*f = FieldSources{}
	}
	for _, name := range fields {
		(*f)[name] = FieldSource{Source: source, At: at}
	}
}

// Fields lists the field names in order, for a stable API answer.
func (f FieldSources) Fields() []string { return slices.Sorted(maps.Keys(f)) }

// tracked maps the changed-field names of domain writes (as their events
// list them) to the fields whose provenance is kept; others (uri, tags,
// contact links) have none.
var tracked = map[string]string{"name": "name", "responsibleUser": "responsibleUser", "responsibleUserId": "responsibleUser",
	"status": "status", "amount": "amount", "currency": "currency", "stage": "stage"}

// Record sets the provenance of the fields that changed, as a domain write
// names them (a changed "customFields" is expanded to the keys whose
// values differ between before and after; a removed key loses its
// provenance, since it no longer has a value).
func (f *FieldSources) Record(source string, at time.Time, changed []string, before, after map[string]any) {
	for _, name := range changed {
		if field, ok := tracked[name]; ok {
			f.Set(source, at, field)
			continue
		}
		if name != "customFields" {
			continue
		}
		for _, k := range ChangedKeys(before, after) {
			if _, kept := after[k]; kept {
				f.Set(source, at, CustomFieldPrefix+k)
			} else {
				delete(*f, CustomFieldPrefix+k)
			}
		}
	}
}

// ChangedKeys lists, sorted, the keys whose values differ between two
// custom field maps (added, removed or changed).
func ChangedKeys(before, after map[string]any) []string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || !reflect.DeepEqual(old, v) {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// SourceOfActor turns an event actor ("api_key:key_...",
// "connection:conn_...", "system") into a provenance source.
func SourceOfActor(actor string) string {
	if _, id, ok := strings.Cut(actor, ":"); ok {
		return id
	}
	return actor
}
