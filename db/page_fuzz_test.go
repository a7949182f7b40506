package db

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/google/uuid"
)

// FuzzDecodeCursor: any `after` a client sends is refused as
// VALIDATION_ERROR or read as a cursor of the asked order whose value can
// be sent to PostgreSQL, and that cursor encodes back to itself.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{Order: "updated_desc", Value: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339Nano),
		ID: uuid.Must(uuid.NewV7())}.encode(), "updated_desc")
	f.Add(cursor{Order: "id", ID: uuid.Must(uuid.NewV7())}.encode(), "name")
	f.Add("eyJvIjoiaWQiLCJ2IjoiXHUwMDAwIn0", "id")
	f.Add("!!", "id")
	f.Fuzz(func(t *testing.T, s, order string) {
		c, err := decodeCursor(s, order)
		if err != nil {
			if crmhub.ErrorCode(err) != crmhub.EINVALID {
				t.Fatalf("%q: error %v is not EINVALID", s, err)
			}
			return
		}
		if c == nil {
			if s != "" {
				t.Fatalf("%q read as no cursor", s)
			}
			return
		}
		if c.Order != order || !crmhub.Storable(c.Value) {
			t.Fatalf("%q accepted as %+v for order %q", s, c, order)
		}
		if b, _ := json.Marshal(c); c.encode() != base64.RawURLEncoding.EncodeToString(b) {
			t.Fatalf("%+v encodes to %s, not to its JSON %s", c, c.encode(), b)
		}
		again, err := decodeCursor(c.encode(), order)
		if err != nil || *again != *c {
			t.Fatalf("%q: %+v encodes to a cursor read as %+v, %v", s, c, again, err)
		}
		cursorTime(c) // must not panic on any value
	})
}
