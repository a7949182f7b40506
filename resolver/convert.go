package resolver

import (
	"errors"
	"strconv"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/graph/model"
	"github.com/google/uuid"
)

// This file holds the pure mappings from graph/model inputs to domain
// inputs. They copy; they never validate beyond what the argument shape
// needs, because validation is the services' job.

func identifier(in *model.IdentifierInput) crmhub.Identifier {
	if in == nil {
		return crmhub.Identifier{}
	}
	return crmhub.Identifier{Type: in.Type, Value: in.Value, Source: deref(in.Source)}
}

func identifiers(in []*model.IdentifierInput) []crmhub.Identifier {
	out := make([]crmhub.Identifier, len(in))
	for i, id := range in {
		out[i] = identifier(id)
	}
	return out
}

func contactInput(in model.ContactInput) crmhub.ContactInput {
	return crmhub.ContactInput{Name: in.Name, Identifiers: identifiers(in.Identifiers),
		CustomFields: in.CustomFields, Tags: in.Tags, URI: in.URI, ResponsibleUserID: idOrNil(crmhub.KindUser, in.ResponsibleUserID)}
}

// idOrNil decodes an optional reference; one that does not decode becomes
// the nil UUID, which names nothing, so the service reports it exactly
// like an id of another workspace (NOT_FOUND on its field).
func idOrNil(k crmhub.Kind, s *string) *uuid.UUID {
	if s == nil {
		return nil
	}
	id, _ := crmhub.ParseID(k, *s)
	return &id
}

func upsertInput(in *model.ContactUpsertInput) crmhub.ContactInput {
	if in == nil {
		return crmhub.ContactInput{}
	}
	return crmhub.ContactInput{Name: in.Name, Identifiers: identifiers(in.Identifiers),
		CustomFields: in.CustomFields, Tags: in.Tags, URI: in.URI, ResponsibleUserID: idOrNil(crmhub.KindUser, in.ResponsibleUserID)}
}

// contactPatch keeps the difference between a list left out (nil: tags
// stay) and an empty list (tags: [] clears them); gqlgen decodes the latter
// to a non-nil empty slice.
func contactPatch(in model.ContactPatch) crmhub.ContactPatch {
	p := crmhub.ContactPatch{Name: in.Name, CustomFields: in.CustomFields, URI: in.URI,
		ResponsibleUserID: idOrNil(crmhub.KindUser, in.ResponsibleUserID), ClearResponsibleUser: deref(in.ClearResponsibleUser)}
	if in.Tags != nil {
		tags := in.Tags
		p.Tags = &tags
	}
	return p
}

func contactFilter(in *model.ContactFilter) crmhub.ContactFilter {
	if in == nil {
		return crmhub.ContactFilter{}
	}
	f := crmhub.ContactFilter{Search: deref(in.Search), Tags: in.Tags, UpdatedSince: in.UpdatedSince,
		ResponsibleUserID: idOrNil(crmhub.KindUser, in.ResponsibleUserID)}
	if in.Identity != nil {
		id := identifier(in.Identity)
		f.Identity = &id
	}
	return f
}

func contactOrder(in *model.ContactOrder) crmhub.ContactOrder {
	if in == nil {
		return crmhub.ContactOrder{Field: crmhub.ContactOrderCreatedAt}
	}
	return crmhub.ContactOrder{Field: crmhub.ContactOrderField(in.Field), Desc: in.Direction == model.OrderDirectionDesc}
}

// pageSize turns a connection's `first` argument into the page size the
// services take: left out means the default; the contract caps it at
// MaxPageSize. Zero is refused as well, because the services read 0 as
// "the default" and a client asking for no rows should not get twenty.
func pageSize(first *int) (int, error) {
	if first == nil {
		return crmhub.DefaultPageSize, nil
	}
	if *first < 1 || *first > crmhub.MaxPageSize {
		return 0, crmhub.Invalid("first", "first must be between 1 and %d", crmhub.MaxPageSize)
	}
	return *first, nil
}

// inArg places a validation error of a service within the argument it was
// given: CreateContact reports "identifiers[0].value", the client sent it
// as "input.identifiers[0].value". Other errors pass through unchanged.
func inArg(arg string, err error) error {
	var e *crmhub.Error
	if err == nil || !errors.As(err, &e) || e.Code != crmhub.EINVALID {
		return err
	}
	return e.WithField(arg)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optionalID decodes an optional global id of kind k.
func optionalID(k crmhub.Kind, s *string) (*uuid.UUID, error) {
	if s == nil {
		return nil, nil
	}
	id, err := crmhub.ParseID(k, *s)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// fieldNotFound names the input field of a NOT_FOUND id error.
func fieldNotFound(err error, field string) error {
	var e *crmhub.Error
	if errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// itemErrorOf turns an error about one bulk item into its ItemError.
func itemErrorOf(err error) crmhub.ItemError {
	var e *crmhub.Error
	if errors.As(err, &e) {
		return crmhub.ItemError{Field: e.Field, Code: e.Code, Message: e.Message, Extensions: e.Extensions, ContactIDs: e.ContactIDs}
	}
	return crmhub.ItemError{Code: crmhub.EINTERNAL, Message: "internal error"}
}

func itoa(i int) string { return strconv.Itoa(i) }

// fieldSources lists a record's provenance in field order.
func fieldSources(f crmhub.FieldSources) []*model.FieldSource {
	out := make([]*model.FieldSource, 0, len(f))
	for _, name := range f.Fields() {
		out = append(out, &model.FieldSource{Field: name, Source: f[name].Source, At: f[name].At})
	}
	return out
}
