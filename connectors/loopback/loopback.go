// Package loopback is an outbound channel that delivers nowhere: it logs
// each message, remembers it and answers with a made-up external id. Local
// runs use it until a real connection carries the channel, and tests use it
// to see what was sent and to make sends fail.
package loopback

import (
	"context"
	"log/slog"
	"sync"

	"github.com/crmhub/crmhub"
)

var _ crmhub.OutboundChannel = (*Channel)(nil)

// Channel is the loopback channel. The zero value is ready to use.
type Channel struct {
	// Log, when set, receives one line per message.
	Log *slog.Logger

	mu   sync.Mutex
	sent []crmhub.OutboundMessage
	fail error
}

// Send records m, or returns the error set by FailWith.
func (c *Channel) Send(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return crmhub.SendResult{}, c.fail
	}
	c.sent = append(c.sent, m)
	if c.Log != nil {
		c.Log.Info("loopback channel: message sent", "channel", m.Channel, "chat", m.ChatID,
			"message", m.Message.GlobalID(), "type", m.Message.Type)
	}
	return crmhub.SendResult{ExternalID: "loopback-" + m.Message.ID.String()}, nil
}

// FailWith makes every following Send return err (nil to recover). A
// *crmhub.SendError is a refusal; any other error is a transient outage.
func (c *Channel) FailWith(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

// Sent returns the messages delivered so far.
func (c *Channel) Sent() []crmhub.OutboundMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]crmhub.OutboundMessage(nil), c.sent...)
}
