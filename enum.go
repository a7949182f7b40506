package crmhub

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// enum implements gqlgen's Marshaler and Unmarshaler for a string enum type
// whose values are listed in vals, so GraphQL enums bind straight to domain
// types without the root package importing gqlgen.
func unmarshalEnum[T ~string](dst *T, v any, vals []T, name string) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(vals, T(s)) {
		return fmt.Errorf("%v is not a valid %s", v, name)
	}
	*dst = T(s)
	return nil
}

func marshalEnum[T ~string](w io.Writer, v T) { io.WriteString(w, strconv.Quote(string(v))) }

// Channel is a messaging channel a contact can be reached on.
type Channel string

// Channels.
const (
	ChannelWhatsApp  Channel = "WHATSAPP"
	ChannelSMS       Channel = "SMS"
	ChannelEmail     Channel = "EMAIL"
	ChannelTelegram  Channel = "TELEGRAM"
	ChannelInstagram Channel = "INSTAGRAM"
	ChannelVK        Channel = "VK"
)

// Channels lists every channel.
var Channels = []Channel{ChannelWhatsApp, ChannelSMS, ChannelEmail, ChannelTelegram, ChannelInstagram, ChannelVK}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// UnmarshalGQL decodes the GraphQL enum.
func (c *Channel) UnmarshalGQL(v any) error { return unmarshalEnum(c, v, Channels, "Channel") }

// MarshalGQL encodes the GraphQL enum.
func (c Channel) MarshalGQL(w io.Writer) { marshalEnum(w, c) }

// IdentityType is the identity a chat id on this channel is stored as.
func (c Channel) IdentityType() IdentityType {
	switch c {
	case ChannelWhatsApp:
		return IdentityWhatsApp
	case ChannelSMS:
		return IdentityPhone
	case ChannelEmail:
		return IdentityEmail
	case ChannelTelegram:
		return IdentityTelegram
	case ChannelInstagram:
		return IdentityInstagram
	case ChannelVK:
		return IdentityVK
	}
	return ""
}

// The enums of connections, sync runs and identity conflicts.

var (
	syncDirections      = []SyncDirection{SyncPull, SyncPush, SyncBoth}
	syncModes           = []SyncMode{SyncIncremental, SyncFull}
	syncRunStatuses     = []SyncRunStatus{SyncQueued, SyncRunning, SyncSucceeded, SyncFailed}
	conflictStatuses    = []ConflictStatus{ConflictOpen, ConflictResolved}
	conflictResolutions = []ConflictResolution{ResolveMerge, ResolvePick}
)

// UnmarshalGQL decodes the GraphQL enum.
func (k *ConnectorKind) UnmarshalGQL(v any) error {
	return unmarshalEnum(k, v, ConnectorKinds, "ConnectorKind")
}

// MarshalGQL encodes the GraphQL enum.
func (k ConnectorKind) MarshalGQL(w io.Writer) { marshalEnum(w, k) }

// UnmarshalGQL decodes the GraphQL enum.
func (d *SyncDirection) UnmarshalGQL(v any) error {
	return unmarshalEnum(d, v, syncDirections, "SyncDirection")
}

// MarshalGQL encodes the GraphQL enum.
func (d SyncDirection) MarshalGQL(w io.Writer) { marshalEnum(w, d) }

// UnmarshalGQL decodes the GraphQL enum.
func (e *SyncEntity) UnmarshalGQL(v any) error {
	return unmarshalEnum(e, v, SyncEntities, "SyncEntity")
}

// MarshalGQL encodes the GraphQL enum.
func (e SyncEntity) MarshalGQL(w io.Writer) { marshalEnum(w, e) }

// UnmarshalGQL decodes the GraphQL enum.
func (m *SyncMode) UnmarshalGQL(v any) error { return unmarshalEnum(m, v, syncModes, "SyncMode") }

// MarshalGQL encodes the GraphQL enum.
func (m SyncMode) MarshalGQL(w io.Writer) { marshalEnum(w, m) }

// UnmarshalGQL decodes the GraphQL enum.
func (s *SyncRunStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(s, v, syncRunStatuses, "SyncRunStatus")
}

// MarshalGQL encodes the GraphQL enum.
func (s SyncRunStatus) MarshalGQL(w io.Writer) { marshalEnum(w, s) }

// UnmarshalGQL decodes the GraphQL enum.
func (s *ConflictStatus) UnmarshalGQL(v any) error {
	return unmarshalEnum(s, v, conflictStatuses, "ConflictStatus")
}

// MarshalGQL encodes the GraphQL enum.
func (s ConflictStatus) MarshalGQL(w io.Writer) { marshalEnum(w, s) }

// UnmarshalGQL decodes the GraphQL enum.
func (r *ConflictResolution) UnmarshalGQL(v any) error {
	return unmarshalEnum(r, v, conflictResolutions, "ConflictResolution")
}

// MarshalGQL encodes the GraphQL enum.
func (r ConflictResolution) MarshalGQL(w io.Writer) { marshalEnum(w, r) }
