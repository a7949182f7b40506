// Package inbound receives the webhooks external CRMs send to
// POST /hooks/{connectionId} and turns them into domain calls: received
// messages become conversations and messages (the contact resolved or
// created from the sender), status reports move outgoing messages
// forward, channel states are stored, and a complete channel list removes
// the channels it lacks. The CRM's own package decodes and
// verifies the request (connectors.WebhookParser); this package
// authenticates it, acts for the connection and answers.
//
// A CRM that signs (Wazelo, Wazera) is checked with the connection's
// webhook secret as signing key; one that does not (Wazzup) must call the
// URL with ?token=<the connection's webhook secret>. Replays are harmless:
// messages are recorded once per external id and statuses only move
// forward. One event the hub cannot take (an unknown chat, a status of a
// message it never sent) is skipped, not an error, so the CRM does not
// retry the whole batch forever; a failure of the hub itself answers 500
// so the CRM does retry.
package inbound

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/crmhub/crmhub/connectors/internal/opt"
	"github.com/google/uuid"
)

// MaxBody bounds a webhook request body.
const MaxBody = 1 << 20

// Hooks finds a connection by id and stores its channels: SaveChannels
// updates the channels given, ReplaceChannels makes them the connection's
// only ones. *db.ConnectionService implements it.
type Hooks interface {
	OpenHook(ctx context.Context, id uuid.UUID) (*crmhub.HookTarget, error)
	SaveChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error
	ReplaceChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error
}

// Conversations is what the receiver needs of the conversation service.
type Conversations interface {
	RecordInboundMessage(ctx context.Context, in crmhub.InboundMessageInput) (*crmhub.Message, error)
	ApplyRemoteStatus(ctx context.Context, externalID string, status crmhub.MessageStatus, errorCode *string) (*crmhub.Message, error)
}

// Receiver is the http.Handler of POST /hooks/{connectionId}.
type Receiver struct {
	Hooks         Hooks
	Registry      connectors.Registry
	Conversations Conversations
	HTTPClient    *http.Client
	Log           *slog.Logger
}

// Result is the JSON answer of an accepted webhook.
type Result struct {
	Received int `json:"received"`
	Skipped  int `json:"skipped"`
}

func (rc *Receiver) log() *slog.Logger {
	if rc.Log == nil {
		return slog.Default()
	}
	return rc.Log
}

// ServeHTTP authenticates, decodes and applies one webhook.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	id, err := crmhub.ParseID(crmhub.KindConnection, r.PathValue("connectionId"))
	if err != nil {
		fail(w, http.StatusNotFound, "no such connection")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "unreadable body")
		return
	} else if len(body) > MaxBody {
		fail(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	ctx := r.Context()
	target, err := rc.Hooks.OpenHook(ctx, id)
	if crmhub.ErrorCode(err) == crmhub.ENOTFOUND {
		fail(w, http.StatusNotFound, "no such connection")
		return
	} else if err != nil {
		rc.log().Error("inbound webhook: open connection", "connection", r.PathValue("connectionId"), "err", err)
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	if target.WebhookSecret == "" {
		fail(w, http.StatusUnauthorized, "the connection has no webhook secret; set one with setConnectionWebhookSecret")
		return
	}
	remote, err := rc.Registry.New(target.Connection.Kind, connectors.Config{BaseURL: target.Connection.BaseURL,
		APIKey: target.APIKey, Options: target.Connection.Options, HTTPClient: rc.HTTPClient})
	if err != nil {
		rc.log().Error("inbound webhook: build connector", "connection", target.Connection.GlobalID(), "err", err)
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	parser, ok := remote.(connectors.WebhookParser)
	if !ok {
		fail(w, http.StatusNotFound, "this CRM sends no webhooks")
		return
	}
	token := r.URL.Query().Get("token")
	_, unsigned := remote.(connectors.UnsignedWebhooks)
	if (unsigned || token != "") && subtle.ConstantTimeCompare([]byte(token), []byte(target.WebhookSecret)) != 1 {
		fail(w, http.StatusUnauthorized, "bad or missing token")
		return
	}
	events, err := parser.ParseWebhook(r.Header, body, target.WebhookSecret)
	if errors.Is(err, connectors.ErrBadSignature) {
		fail(w, http.StatusUnauthorized, "bad signature")
		return
	} else if err != nil {
		fail(w, http.StatusBadRequest, "malformed webhook body")
		return
	}
	res, err := rc.apply(ctx, target, events)
	if err != nil {
		rc.log().Error("inbound webhook: apply", "connection", target.Connection.GlobalID(), "err", err)
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// apply turns the events into domain calls acting for the connection.
func (rc *Receiver) apply(ctx context.Context, target *crmhub.HookTarget, events []connectors.Inbound) (Result, error) {
	conn := target.Connection
	ctx = crmhub.NewContext(ctx, &crmhub.Principal{WorkspaceID: target.WorkspaceID, ConnectionID: conn.ID,
		Scopes: []crmhub.Scope{crmhub.ScopeAdmin}})
	var res Result
	var channels []crmhub.ConnectionChannel
	var list []crmhub.ConnectionChannel // the last complete list, nil when none came
	skip := func(what string, err error) error {
		if crmhub.ErrorCode(err) == crmhub.EINTERNAL {
			return err
		}
		res.Skipped++
		rc.log().Info("inbound webhook: event skipped", "connection", conn.GlobalID(), "event", what, "reason", crmhub.ErrorMessage(err))
		return nil
	}
	for _, ev := range events {
		switch {
		case ev.Message != nil:
			// Received messages, and messages sent from outside the hub
			// (the phone): the echo of one the hub sent is recognised by
			// its external id and stored once.
			m := ev.Message
			ext := m.ExternalID
			_, err := rc.Conversations.RecordInboundMessage(ctx, crmhub.InboundMessageInput{Channel: m.Channel, ChatID: m.ChatID,
				SenderName: m.SenderName, Type: m.Type, Text: m.Text, ContentURL: m.ContentURL, ExternalID: &ext,
				ReceivedAt: m.SentAt, ConnectionID: &conn.ID, RemoteChannelID: opt.NonEmpty(m.ChannelID), Direction: m.Direction,
				Post: m.Post})
			if err != nil {
				if err := skip("message "+ext, err); err != nil {
					return res, err
				}
				continue
			}
			res.Received++
		case ev.Status != nil:
			s := ev.Status
			if _, err := rc.Conversations.ApplyRemoteStatus(ctx, s.ExternalID, s.Status, s.ErrorCode); err != nil {
				if err := skip("status of "+s.ExternalID, err); err != nil {
					return res, err
				}
				continue
			}
			res.Received++
		case ev.Channel != nil:
			channels = append(channels, connectionChannel(conn.ID, *ev.Channel))
			res.Received++
		case ev.ChannelList != nil:
			list = []crmhub.ConnectionChannel{}
			for _, c := range ev.ChannelList.Channels {
				list = append(list, connectionChannel(conn.ID, c))
			}
			res.Received++
		}
	}
	if list != nil {
		if err := rc.Hooks.ReplaceChannels(ctx, target.WorkspaceID, conn.ID, list); err != nil {
			return res, err
		}
	}
	if err := rc.Hooks.SaveChannels(ctx, target.WorkspaceID, conn.ID, channels); err != nil {
		return res, err
	}
	return res, nil
}

func connectionChannel(conn uuid.UUID, c connectors.ChannelState) crmhub.ConnectionChannel {
	return crmhub.ConnectionChannel{ConnectionID: conn, ChannelID: c.ChannelID, Transport: c.Transport, PlainID: c.PlainID, State: c.State}
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
