// Package outbound routes a conversation's outgoing messages: through the
// external CRM connection the conversation came from when it has one, else
// through the hub's own channel (the loopback channel today).
package outbound

import (
	"context"
	"fmt"
	"net/http"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// Connections opens a connection with its API key; *db.ConnectionService
// implements it.
type Connections interface {
	Open(ctx context.Context, ws, id uuid.UUID) (*crmhub.Connection, string, error)
}

// Router is a crmhub.OutboundChannel.
type Router struct {
	Connections Connections
	Registry    connectors.Registry
	HTTPClient  *http.Client
	// Fallback sends messages of conversations without a connection.
	Fallback crmhub.OutboundChannel
}

var _ crmhub.OutboundChannel = (*Router)(nil)

// Send delivers m. A conversation whose connection is gone, disabled or
// cannot send is refused (the message becomes FAILED with a code saying
// why); an unreachable CRM is a transient error (the message stays
// QUEUED and is retried).
func (r *Router) Send(ctx context.Context, m crmhub.OutboundMessage) (crmhub.SendResult, error) {
	if m.ConnectionID == nil {
		if r.Fallback == nil {
			return crmhub.SendResult{}, &crmhub.SendError{Code: "NO_CHANNEL", Message: "the conversation has no channel to send through"}
		}
		return r.Fallback.Send(ctx, m)
	}
	conn, key, err := r.Connections.Open(ctx, m.WorkspaceID, *m.ConnectionID)
	if crmhub.ErrorCode(err) == crmhub.ENOTFOUND {
		return crmhub.SendResult{}, &crmhub.SendError{Code: "CONNECTION_GONE", Message: "the conversation's connection was deleted"}
	} else if err != nil {
		return crmhub.SendResult{}, fmt.Errorf("outbound: open connection: %w", err)
	}
	if !conn.Enabled {
		return crmhub.SendResult{}, &crmhub.SendError{Code: "CONNECTION_DISABLED", Message: "the conversation's connection is disabled"}
	}
	remote, err := r.Registry.New(conn.Kind, connectors.Config{BaseURL: conn.BaseURL, APIKey: key, Options: conn.Options,
		HTTPClient: r.HTTPClient})
	if err != nil {
		return crmhub.SendResult{}, &crmhub.SendError{Code: "CONNECTION_MISCONFIGURED", Message: "the connection's settings are not usable"}
	}
	sender, ok := remote.(connectors.MessageSender)
	if !ok {
		return crmhub.SendResult{}, &crmhub.SendError{Code: "CHANNEL_CANNOT_SEND",
			Message: fmt.Sprintf("%s connections cannot send messages", conn.Kind)}
	}
	return sender.SendMessage(ctx, m)
}
