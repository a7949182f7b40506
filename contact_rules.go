package crmhub

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// NormalizeName trims a contact name and checks its length. An empty name
// becomes nil: "no name".
func NormalizeName(name *string) (*string, error) {
	return OptionalText(name, "name", MaxNameLength)
}

// NormalizeURI checks that a contact URI is an absolute http(s) URL. An
// empty URI becomes nil.
func NormalizeURI(uri *string) (*string, error) {
	if uri == nil {
		return nil, nil
	}
	s := strings.TrimSpace(*uri)
	if s == "" {
		return nil, nil
	}
	if len(s) > MaxURILength {
		return nil, Invalid("uri", "uri is longer than %d characters", MaxURILength)
	}
	if !Storable(s) {
		return nil, unstorable("uri")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Invalid("uri", "uri must be an absolute http or https URL")
	}
	return &s, nil
}

// NormalizeTags trims tags, drops duplicates and sorts them. An empty tag or
// one over MaxTagLength is EINVALID with Field "tags[i]".
func NormalizeTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, Invalid("tags", "at most %d tags are allowed, got %d", MaxTags, len(tags))
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > MaxTagLength {
			return nil, Invalid(fmt.Sprintf("tags[%d]", i), "a tag must have 1 to %d characters", MaxTagLength)
		}
		if !Storable(t) {
			return nil, unstorable(fmt.Sprintf("tags[%d]", i))
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NormalizeCustomFields checks keys and size and returns the fields as they
// will read back from storage (JSON numbers as float64), so that stored and
// given values compare equal.
func NormalizeCustomFields(fields map[string]any) (map[string]any, error) {
	if fields == nil {
		return nil, nil
	}
	if len(fields) > MaxCustomFields {
		return nil, Invalid("customFields", "at most %d custom fields are allowed, got %d", MaxCustomFields, len(fields))
	}
	for k, v := range fields {
		if strings.TrimSpace(k) == "" || utf8.RuneCountInString(k) > MaxCustomFieldKey {
			return nil, Invalid("customFields", "custom field keys must have 1 to %d characters", MaxCustomFieldKey)
		}
		if err := checkCustomValue(v, "customFields."+k, 1); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, Invalid("customFields", "custom fields must be JSON values")
	}
	if len(b) > MaxCustomFieldsBytes {
		return nil, Invalid("customFields", "custom fields are larger than %d bytes", MaxCustomFieldsBytes)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, Invalid("customFields", "custom fields must be JSON values")
	}
	return out, nil
}

// checkCustomValue refuses, within one custom field's value, text that
// cannot be stored (in keys too) and nesting deeper than
// MaxCustomFieldDepth.
func checkCustomValue(v any, field string, depth int) error {
	switch v := v.(type) {
	case string:
		if !Storable(v) {
			return unstorable(field)
		}
	case map[string]any:
		if depth > MaxCustomFieldDepth {
			return Invalid(field, "custom fields nest at most %d levels", MaxCustomFieldDepth)
		}
		for k, e := range v {
			if !Storable(k) {
				return unstorable(field)
			}
			if err := checkCustomValue(e, field+"."+k, depth+1); err != nil {
				return err
			}
		}
	case []any:
		if depth > MaxCustomFieldDepth {
			return Invalid(field, "custom fields nest at most %d levels", MaxCustomFieldDepth)
		}
		for i, e := range v {
			if err := checkCustomValue(e, fmt.Sprintf("%s[%d]", field, i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// MergeCustomFields applies a patch to stored fields: keys in the patch are
// set, keys set to nil are removed, others stay. It returns a new map and
// whether anything changed. A result of more than MaxCustomFields keys is
// VALIDATION_ERROR (field customFields): the caller asked for a change
// that cannot be stored, and must hear so rather than see nothing saved.
func MergeCustomFields(stored, patch map[string]any) (map[string]any, bool, error) {
	out := maps.Clone(stored)
	if out == nil {
		out = map[string]any{}
	}
	changed := false
	for k, v := range patch {
		old, had := out[k]
		if v == nil {
			if had {
				delete(out, k)
				changed = true
			}
			continue
		}
		if !had || !reflect.DeepEqual(old, v) {
			out[k] = v
			changed = true
		}
	}
	if len(out) > MaxCustomFields {
		return stored, false, Invalid("customFields",
			"at most %d custom fields are allowed: with this patch the contact would have %d (set keys to null to remove them)",
			MaxCustomFields, len(out))
	}
	return out, changed, nil
}

// Normalize validates a patch and returns it in canonical form. Field paths
// are relative to the patch ("name", "tags[2]").
func (p ContactPatch) Normalize() (ContactPatch, error) {
	out := ContactPatch{ResponsibleUserID: p.ResponsibleUserID, ClearResponsibleUser: p.ClearResponsibleUser}
	if p.ResponsibleUserID != nil && p.ClearResponsibleUser {
		return out, Invalid("responsibleUserId", "set the responsible user or clear it, not both")
	}
	var err error
	if p.Name != nil {
		if out.Name, err = NormalizeName(p.Name); err != nil {
			return out, err
		}
		if out.Name == nil {
			out.Name = new(string) // an explicit empty name clears it
		}
	}
	if p.URI != nil {
		if out.URI, err = NormalizeURI(p.URI); err != nil {
			return out, err
		}
		if out.URI == nil {
			out.URI = new(string)
		}
	}
	if out.CustomFields, err = NormalizeCustomFields(p.CustomFields); err != nil {
		return out, err
	}
	if p.Tags != nil {
		tags, err := NormalizeTags(*p.Tags)
		if err != nil {
			return out, err
		}
		out.Tags = &tags
	}
	return out, nil
}

// Normalize validates a contact input: its identifiers (at least one) and
// its fields. Field paths are relative to the input ("identifiers[0].value").
func (in ContactInput) Normalize() (Identifiers []Identifier, patch ContactPatch, err error) {
	ids, err := NormalizeIdentifiers(in.Identifiers)
	if err != nil {
		return nil, patch, err.(*Error).WithField("identifiers")
	}
	p := ContactPatch{Name: in.Name, URI: in.URI, CustomFields: in.CustomFields, ResponsibleUserID: in.ResponsibleUserID}
	if in.Tags != nil {
		p.Tags = &in.Tags
	}
	patch, err = p.Normalize()
	return ids, patch, err
}
