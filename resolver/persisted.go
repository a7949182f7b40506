package resolver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/crmhub/crmhub"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// PersistedQueries is an allow-list of operations: the SHA-256 (hex) of
// each document's text and the text.
type PersistedQueries map[string]string

// sha256Prefix marks a document identifier of the GraphQL-over-HTTP
// persisted documents appendix ("sha256:<hex>"), the keys graphql-codegen's
// client preset writes. Clients send the bare hex in the automatic
// persisted queries extension, so the prefix is dropped on reading.
const sha256Prefix = "sha256:"

// ParsePersistedQueries reads a manifest, {"<sha256 hex>": "<document>"},
// as graphql-codegen's client preset writes it (persisted-documents.json,
// whose keys carry the "sha256:" prefix) or without the prefix, and checks
// that each hash is the SHA-256 of its document, so a typo cannot allow
// another document.
func ParsePersistedQueries(b []byte) (PersistedQueries, error) {
	var manifest map[string]string
	if err := json.Unmarshal(b, &manifest); err != nil {
		return nil, fmt.Errorf("persisted queries: not a JSON object of hash to document: %w", err)
	}
	m := make(PersistedQueries, len(manifest))
	for key, doc := range manifest {
		hash := strings.TrimPrefix(key, sha256Prefix)
		if queryHash(doc) != hash {
			return nil, fmt.Errorf("persisted queries: %.16s... is not the SHA-256 of its document", hash)
		}
		m[hash] = doc
	}
	return m, nil
}

func queryHash(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

// allowList runs only the documents of a PersistedQueries manifest, for a
// production server whose clients are known: a request names its document
// by hash (the automatic persisted queries extension,
// {"persistedQuery": {"version": 1, "sha256Hash": ...}}), or sends a
// document of the list in full; anything else is FORBIDDEN. It replaces
// the automatic persisted queries, which let any client register any
// document.
type allowList struct {
	docs PersistedQueries
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = allowList{}

func (allowList) ExtensionName() string                   { return "PersistedQueryAllowList" }
func (allowList) Validate(graphql.ExecutableSchema) error { return nil }

func (a allowList) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	hash := ""
	if ext, ok := p.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ = ext["sha256Hash"].(string)
	}
	if p.Query != "" {
		if h := queryHash(p.Query); hash == "" || h == hash {
			hash = h
		}
	}
	doc, ok := a.docs[hash]
	if !ok || (p.Query != "" && doc != p.Query) {
		err := gqlerror.Errorf("this server runs only its persisted queries: send the sha256Hash of one of them")
		err.Extensions = map[string]any{"code": crmhub.EFORBIDDEN}
		return err
	}
	p.Query = doc
	return nil
}
