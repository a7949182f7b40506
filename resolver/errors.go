package resolver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/internal/reqlog"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The presenter is the one place where errors become what clients see:
//
//   - a *crmhub.Error keeps its message; its code goes to extensions.code,
//     its Field to extensions.field and its Extensions (contactIds, count,
//     limit, ...) next to them;
//   - a value that does not coerce to its argument's type (an unknown enum
//     value, a string for an Int), whether written inline, in variables or
//     met while decoding an input object, is VALIDATION_ERROR with the input
//     path in extensions.field;
//   - gqlgen's own errors (parse, validation, complexity) pass as they are;
//   - anything else is internal: logged with its detail, shown as
//     "internal error" with code INTERNAL.

// valuesOfCorrectType is the gqlparser rule that rejects inline argument
// values of the wrong type.
const valuesOfCorrectType = "ValuesOfCorrectType"

func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		errors.As(err, &gqlErr)
		out := &gqlerror.Error{Path: graphql.GetPath(ctx)}
		if gqlErr != nil {
			out.Path, out.Locations = gqlErr.Path, gqlErr.Locations
		}

		var ce *crmhub.Error
		switch {
		case errors.As(err, &ce):
			out.Message = ce.Message
			out.Extensions = map[string]any{}
			for k, v := range ce.Extensions {
				out.Extensions[k] = v
			}
			out.Extensions["code"] = ce.Code
			if ce.Field != "" {
				out.Extensions["field"] = ce.Field
			}
			if id := reqlog.ID(ctx); id != "" && ce.Code == crmhub.EINTERNAL {
				out.Extensions["requestId"] = id
			}
			return out

		case gqlErr != nil && gqlErr.Err == nil:
			// Made by gqlgen or gqlparser, not by a resolver.
			if field, ok := coercionField(gqlErr); ok {
				out := *gqlErr
				out.Extensions = map[string]any{"code": crmhub.EINVALID}
				if field != "" {
					out.Extensions["field"] = field
				}
				return &out
			}
			return gqlErr

		case gqlErr != nil:
			if field, ok := argumentField(ctx, gqlErr.Path); ok {
				out.Message = gqlErr.Err.Error()
				out.Extensions = map[string]any{"code": crmhub.EINVALID, "field": field}
				return out
			}
		}

		log.ErrorContext(ctx, "graphql: internal error", "err", err, "path", out.Path.String())
		out.Message = "internal error"
		out.Extensions = map[string]any{"code": crmhub.EINTERNAL}
		if id := reqlog.ID(ctx); id != "" {
			out.Extensions["requestId"] = id
		}
		return out
	}
}

// coercionField recognises gqlgen's and gqlparser's errors about argument
// values and returns the offending input path ("" when unknown).
func coercionField(e *gqlerror.Error) (string, bool) {
	if e.Rule == valuesOfCorrectType {
		return "", true
	}
	code, _ := e.Extensions["code"].(string)
	if code == errcode.ValidationFailed && len(e.Path) > 1 && e.Path[0] == ast.PathName("variable") {
		return pathString(e.Path[1:]), true
	}
	return "", false
}

// argumentField recognises an error raised while decoding a field's
// arguments: its path runs past the field into one of the arguments (for
// example createContact.input.identifiers.0.type). A resolver's own error
// stops at the field.
func argumentField(ctx context.Context, p ast.Path) (string, bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return "", false
	}
	base := fc.Path()
	if len(p) <= len(base) {
		return "", false
	}
	for i := range base {
		if p[i] != base[i] {
			return "", false
		}
	}
	name, ok := p[len(base)].(ast.PathName)
	if !ok || fc.Field.Arguments.ForName(string(name)) == nil {
		return "", false
	}
	return pathString(p[len(base):]), true
}

// pathString writes an input path the way extensions.field spells it:
// "input.identifiers[0].value".
func pathString(p ast.Path) string {
	var b strings.Builder
	for _, el := range p {
		switch v := el.(type) {
		case ast.PathIndex:
			b.WriteString("[" + strconv.Itoa(int(v)) + "]")
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(v))
		}
	}
	return b.String()
}

// recoverFunc turns a panic in a resolver into an internal error; the
// stack goes to the log, never to the client.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql: panic", "panic", fmt.Sprint(p), "path", graphql.GetPath(ctx).String(),
			"stack", string(debug.Stack()))
		return crmhub.Errorf(crmhub.EINTERNAL, "internal error")
	}
}

// writeError answers a request that never reached GraphQL execution (no or
// bad key) with a GraphQL-shaped error body.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
		"message": message, "extensions": map[string]any{"code": code},
	}}})
}
