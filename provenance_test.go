package crmhub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
)

func TestFieldSourcesRecord(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	for _, tc := range []struct {
		name          string
		changed       []string
		before, after map[string]any
		want          string // field=source@hour, sorted
	}{
		{"untracked fields have no provenance", []string{"uri", "tags", "contactIds"}, nil, nil, "customFields.city=key_a@0 name=key_a@0"},
		{"tracked fields take the writer", []string{"name", "responsibleUserId", "status"}, nil, nil,
			"customFields.city=key_a@0 name=conn_b@1 responsibleUser=conn_b@1 status=conn_b@1"},
		{"only the custom keys whose value changed", []string{"customFields"},
			map[string]any{"city": "Leeds", "tier": 1.0}, map[string]any{"city": "Leeds", "tier": 2.0, "new": true},
			"customFields.city=key_a@0 customFields.new=conn_b@1 customFields.tier=conn_b@1 name=key_a@0"},
		{"a removed key loses its provenance", []string{"customFields"},
			map[string]any{"city": "Leeds"}, map[string]any{}, "name=key_a@0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := crmhub.FieldSources{"name": {Source: "key_a", At: t0}, "customFields.city": {Source: "key_a", At: t0}}
			fs.Record("conn_b", t1, tc.changed, tc.before, tc.after)
			var got []string
			for _, f := range fs.Fields() {
				got = append(got, f+"="+fs[f].Source+"@"+map[bool]string{true: "1", false: "0"}[fs[f].At.Equal(t1)])
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

func TestSourceOfActor(t *testing.T) {
	for actor, want := range map[string]string{"api_key:key_1": "key_1", "connection:conn_2": "conn_2", "system": "system"} {
		if got := crmhub.SourceOfActor(actor); got != want {
			t.Errorf("SourceOfActor(%q) = %q, want %q", actor, got, want)
		}
	}
}
