// Package chatwindow opens the embeddable chat window a connection's CRM
// offers (connectors.ChatWindow, e.g. Wazzup's iframe) for a hub user and,
// optionally, a hub contact: it implements crmhub.ChatWindowService over
// the domain services, the connector registry and the connection's key.
package chatwindow

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/connectors"
	"github.com/google/uuid"
)

// Connections reads a connection (checking the caller's scope) and opens
// it with its API key; *db.ConnectionService implements it.
type Connections interface {
	Connection(ctx context.Context, id uuid.UUID) (*crmhub.Connection, error)
	Open(ctx context.Context, ws, id uuid.UUID) (*crmhub.Connection, string, error)
}

// Service is a crmhub.ChatWindowService.
type Service struct {
	Connections Connections
	Users       crmhub.UserService
	Contacts    crmhub.ContactService
	Registry    connectors.Registry
	// HTTPClient is the connectors' client (nil: http.DefaultClient).
	HTTPClient *http.Client
}

var _ crmhub.ChatWindowService = (*Service)(nil)

// ChatWindowURL implements crmhub.ChatWindowService. The window's user is
// the hub user's external id and name, the ids a UserSyncer pushes; the
// contact is given by its name and identifiers, which the connector turns
// into the CRM's chats. A failure of the CRM is an error, not a nil URL.
func (s *Service) ChatWindowURL(ctx context.Context, connectionID uuid.UUID, in crmhub.ChatWindowInput) (*string, error) {
	p, err := crmhub.Require(ctx, crmhub.ScopeConversationsRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.Connections.Connection(ctx, connectionID); err != nil {
		return nil, field("connectionId", err)
	}
	conn, key, err := s.Connections.Open(ctx, p.WorkspaceID, connectionID)
	if err != nil {
		return nil, field("connectionId", err)
	}
	remote, err := s.Registry.New(conn.Kind, connectors.Config{BaseURL: conn.BaseURL, APIKey: key, Options: conn.Options,
		HTTPClient: s.HTTPClient})
	if err != nil {
		return nil, crmhub.Invalid("connectionId", "the connection's settings are not usable")
	}
	window, ok := remote.(connectors.ChatWindow)
	if !ok {
		return nil, nil
	}
	req, err := s.request(ctx, in)
	if err != nil {
		return nil, err
	}
	url, err := window.ChatWindowURL(ctx, req)
	var invalid *crmhub.Error
	if errors.As(err, &invalid) {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("chatwindow: %s: %w", conn.Kind, err)
	}
	return &url, nil
}

// request reads the user and the contact of in.
func (s *Service) request(ctx context.Context, in crmhub.ChatWindowInput) (connectors.ChatWindowRequest, error) {
	var req connectors.ChatWindowRequest
	users, err := s.Users.UsersByIDs(ctx, []uuid.UUID{in.UserID})
	if err != nil {
		return req, err
	}
	if len(users) == 0 || users[0] == nil {
		return req, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "userId", Message: "user not found"}
	}
	req.UserID, req.UserName, req.ActiveChannel = users[0].ExternalID, users[0].Name, in.ActiveChannel
	if in.ContactID == nil {
		if in.ActiveChannel != nil {
			return req, crmhub.Invalid("activeChannel", "an active chat needs contactId")
		}
		return req, nil
	}
	contacts, err := s.Contacts.ContactsByIDs(ctx, []uuid.UUID{*in.ContactID})
	if err != nil {
		return req, err
	}
	if len(contacts) == 0 || contacts[0] == nil {
		return req, &crmhub.Error{Code: crmhub.ENOTFOUND, Field: "contactId", Message: "contact not found"}
	}
	c := contacts[0]
	idents, err := s.Contacts.IdentitiesByContact(ctx, []uuid.UUID{c.ID})
	if err != nil {
		return req, err
	}
	req.Contact = &connectors.ChatWindowContact{}
	if c.Name != nil {
		req.Contact.Name = *c.Name
	}
	for _, id := range idents[c.ID] {
		req.Contact.Identifiers = append(req.Contact.Identifiers, crmhub.Identifier{Type: id.Type, Value: id.Value})
	}
	return req, nil
}

// field names the argument a not-found error concerns.
func field(name string, err error) error {
	var e *crmhub.Error
	if errors.As(err, &e) && e.Code == crmhub.ENOTFOUND {
		return &crmhub.Error{Code: crmhub.ENOTFOUND, Field: name, Message: e.Message}
	}
	return err
}
