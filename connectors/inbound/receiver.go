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

// Hooks finds a connection by id, stores its channels (SaveChannels
// updates the channels given, ReplaceChannels makes them the connection's
// only ones) and records its campaign reports; *db.ConnectionService
// implements it.
type Hooks interface {
	OpenHook(ctx context.Context, id uuid.UUID) (*crmhub.HookTarget, error)
	SaveChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error
	ReplaceChannels(ctx context.Context, ws, conn uuid.UUID, channels []crmhub.ConnectionChannel) error
	RecordCampaign(ctx context.Context, conn uuid.UUID, p crmhub.CampaignPayload) error
}

// Conversations is what the receiver needs of the conversation service.
type Conversations interface {
	RecordInboundMessage(ctx context.Context, in crmhub.InboundMessageInput) (*crmhub.Message, error)
	ApplyRemoteStatus(ctx context.Context, externalID string, status crmhub.MessageStatus, errorCode *string) (*crmhub.Message, error)
	ApplyRemoteConversation(ctx context.Context, in crmhub.RemoteConversationInput) (*crmhub.Conversation, error)
}

// Contacts upserts the contacts a CRM reports created or updated.
type Contacts interface {
	UpsertContacts(ctx context.Context, items []crmhub.ContactInput) ([]crmhub.UpsertContactResult, error)
}

// Users upserts the agents a CRM assigns conversations to.
type Users interface {
	UpsertUsers(ctx context.Context, in []crmhub.UserInput) ([]crmhub.UpsertUserResult, error)
}

// Receiver is the http.Handler of POST /hooks/{connectionId}.
type Receiver struct {
	Hooks         Hooks
	Registry      connectors.Registry
	Conversations Conversations
	Contacts      Contacts
	Users         Users
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
				Post: m.Post, SenderIdentifiers: withSource(m.Identifiers, conn), RemoteConversationID: opt.NonEmpty(m.ConversationID)})
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
		case ev.Conversation != nil || ev.Contact != nil || ev.Campaign != nil:
			if err := rc.applyRecord(ctx, conn, ev); err != nil {
				if err := skip("event "+ev.ID, err); err != nil {
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

// applyRecord applies a conversation, contact or campaign event.
func (rc *Receiver) applyRecord(ctx context.Context, conn *crmhub.Connection, ev connectors.Inbound) error {
	switch {
	case ev.Conversation != nil:
		return rc.applyConversation(ctx, conn, ev.Conversation)
	case ev.Contact != nil:
		return rc.upsertContact(ctx, conn, ev.Contact)
	}
	c := ev.Campaign
	return rc.Hooks.RecordCampaign(ctx, conn.ID, crmhub.CampaignPayload{CampaignID: c.ExternalID, Name: c.Name,
		Stats: c.Stats, CompletedAt: c.CompletedAt})
}

// applyConversation applies a conversation event; its agent becomes (or
// is) the hub user of that external id.
func (rc *Receiver) applyConversation(ctx context.Context, conn *crmhub.Connection, c *connectors.ConversationEvent) error {
	in := crmhub.RemoteConversationInput{ConnectionID: conn.ID, ExternalID: c.ExternalID, Channel: c.Channel,
		ChatID: c.ChatID, SenderName: c.SenderName, Identifiers: withSource(c.Identifiers, conn), Status: c.Status}
	if a := c.Assignee; a != nil {
		name := a.Name
		if name == "" {
			name = a.ExternalID
		}
		res, err := rc.Users.UpsertUsers(ctx, []crmhub.UserInput{{ExternalID: a.ExternalID, Name: name, Email: a.Email}})
		if err != nil {
			return err
		}
		if res[0].User == nil {
			return crmhub.Errorf(crmhub.EINVALID, "the agent %q cannot be kept as a user", a.ExternalID)
		}
		in.AssigneeID = &res[0].User.ID
	}
	_, err := rc.Conversations.ApplyRemoteConversation(ctx, in)
	return err
}

// upsertContact upserts a contact the CRM reports, known by its
// EXTERNAL_ID (whose source is the connection, as the sync's links) and
// its other identifiers.
func (rc *Receiver) upsertContact(ctx context.Context, conn *crmhub.Connection, c *connectors.RemoteContact) error {
	ids := withSource(append([]crmhub.Identifier{{Type: crmhub.IdentityExternalID, Value: c.ExternalID}}, c.Identifiers...), conn)
	res, err := rc.Contacts.UpsertContacts(ctx, []crmhub.ContactInput{{Name: c.Name, Identifiers: ids, URI: c.URI,
		Tags: c.Tags, CustomFields: c.CustomFields}})
	if err != nil {
		return err
	}
	if r := res[0]; r.Status == crmhub.UpsertFailed {
		why := "refused"
		if len(r.Errors) > 0 {
			why = r.Errors[0].Message
		}
		return crmhub.Errorf(crmhub.EINVALID, "contact %q: %s", c.ExternalID, why)
	}
	return nil
}

// withSource gives the EXTERNAL_ID identifiers a CRM reports without a
// source the connection's global id as source: the CRM's ids are the
// connection's.
func withSource(ids []crmhub.Identifier, conn *crmhub.Connection) []crmhub.Identifier {
	out := make([]crmhub.Identifier, len(ids))
	for i, id := range ids {
		if id.Type == crmhub.IdentityExternalID && id.Source == "" {
			id.Source = conn.GlobalID()
		}
		out[i] = id
	}
	return out
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
