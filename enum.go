package crmhub

// The GraphQL enums bind to the domain's string types and their constants
// in gqlgen.yml (enum_values), so the root package needs no marshalling
// code of gqlgen's.

import "slices"

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
