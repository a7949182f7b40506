package db

import (
	"encoding/base64"
	"encoding/json"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// cursor is the position after which a page starts: the sort value and id
// of the last row seen, and the order it belongs to, so that a cursor of one
// order cannot be used with another.
type cursor struct {
	Order string    `json:"o"`
	Value string    `json:"v"`
	ID    uuid.UUID `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses an `after` argument for the given order. An empty
// string is no cursor.
func decodeCursor(s, order string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := crmhub.Invalid("after", "malformed cursor")
	if len(s) > 512 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Order != order {
		return nil, bad
	}
	return &c, nil
}

// pageSize checks `first`: 0 means the default, the cap is MaxPageSize.
func pageSize(first int) (int, error) {
	switch {
	case first == 0:
		return crmhub.DefaultPageSize, nil
	case first < 0 || first > crmhub.MaxPageSize:
		return 0, crmhub.Invalid("first", "first must be between 1 and %d", crmhub.MaxPageSize)
	}
	return first, nil
}
