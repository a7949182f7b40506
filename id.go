package crmhub

import (
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
)

// Kind names the type of an entity behind a global id.
type Kind string

// Kinds of entities that have global ids. The value is the id's prefix.
const (
	KindWorkspace    Kind = "ws"
	KindAPIKey       Kind = "key"
	KindContact      Kind = "ct"
	KindNote         Kind = "nt"
	KindSuppression  Kind = "sup"
	KindUser         Kind = "usr"
	KindDeal         Kind = "deal"
	KindConversation Kind = "cv"
	KindMessage      Kind = "msg"
	// KindWebhookEndpoint and KindWebhookDelivery are outgoing webhooks.
	KindWebhookEndpoint Kind = "wh"
	KindWebhookDelivery Kind = "whd"
	// KindConnection, KindSyncRun and KindIdentityConflict belong to sync
	// with external CRMs.
	KindConnection       Kind = "conn"
	KindSyncRun          Kind = "sync"
	KindIdentityConflict Kind = "icf"
)

var kinds = map[Kind]bool{KindWorkspace: true, KindAPIKey: true, KindContact: true, KindNote: true,
	KindSuppression: true, KindUser: true, KindDeal: true, KindConversation: true, KindMessage: true,
	KindWebhookEndpoint: true, KindWebhookDelivery: true, KindConnection: true, KindSyncRun: true,
	KindIdentityConflict: true}

// GlobalID encodes an internal UUID as the opaque, type-prefixed id the API
// exposes, for example "ct_0192f1c4a2b87c3e9d1f00aa11bb22cc".
func GlobalID(k Kind, id uuid.UUID) string {
	var b [32]byte
	hex.Encode(b[:], id[:])
	return string(k) + "_" + string(b[:])
}

// ParseID decodes a global id of the wanted kind. Any malformed id, or an id
// of another kind, is reported as ENOTFOUND: to a client an id of the wrong
// type is an id that does not exist.
func ParseID(want Kind, s string) (uuid.UUID, error) {
	k, id, ok := splitID(s)
	if !ok || k != want {
		return uuid.Nil, Errorf(ENOTFOUND, "no %s with id %q", want.Name(), truncate(s, 80))
	}
	return id, nil
}

// ParseAnyID decodes a global id of any known kind.
func ParseAnyID(s string) (Kind, uuid.UUID, error) {
	k, id, ok := splitID(s)
	if !ok || !kinds[k] {
		return "", uuid.Nil, Errorf(ENOTFOUND, "no object with id %q", truncate(s, 80))
	}
	return k, id, nil
}

func splitID(s string) (Kind, uuid.UUID, bool) {
	prefix, rest, ok := strings.Cut(s, "_")
	if !ok || len(rest) != 32 {
		return "", uuid.Nil, false
	}
	var id uuid.UUID
	if _, err := hex.Decode(id[:], []byte(rest)); err != nil {
		return "", uuid.Nil, false
	}
	return Kind(prefix), id, true
}

// Name is the human name of the kind, used in error messages.
func (k Kind) Name() string {
	switch k {
	case KindWorkspace:
		return "workspace"
	case KindAPIKey:
		return "API key"
	case KindContact:
		return "contact"
	case KindNote:
		return "note"
	case KindSuppression:
		return "suppression"
	case KindUser:
		return "user"
	case KindDeal:
		return "deal"
	case KindConversation:
		return "conversation"
	case KindMessage:
		return "message"
	case KindWebhookEndpoint:
		return "webhook endpoint"
	case KindWebhookDelivery:
		return "webhook delivery"
	case KindConnection:
		return "connection"
	case KindSyncRun:
		return "sync run"
	case KindIdentityConflict:
		return "identity conflict"
	}
	return string(k)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Node is anything with a global id; the GraphQL Node interface binds to it.
type Node interface {
	GlobalID() string
}
