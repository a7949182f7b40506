package wazzup

import (
	"context"

	"github.com/crmhub/crmhub/connectors/internal/httpclient"
)

// Channel states the v2 document lists.
const (
	StateActive           = "active"
	StateDisabled         = "disabled"
	StatePhoneUnavailable = "phoneUnavailable"
	StateQR               = "qr"
	StateOpenElsewhere    = "openElsewhere"
	StateNotEnoughMoney   = "notEnoughMoney"
)

// Channel is a messenger account connected to the integration, the sender
// of outgoing messages.
type Channel struct {
	// ChannelID is the channel's uuid, SendMessageRequest.ChannelID.
	ChannelID string `json:"channelId"`
	// Transport is the messenger, one of the Chat* constants.
	Transport string `json:"transport"`
	// PlainID is the phone number or Instagram account.
	PlainID string `json:"plainId"`
	// State is one of the State* constants; only StateActive sends.
	State string `json:"state"`
}

// ListChannels returns the integration's channels (GET /v2/channels).
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var chs []Channel
	err := c.http.Do(ctx, httpclient.Request{Method: "GET", Path: "/v2/channels", Out: &chs})
	return chs, err
}
