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
