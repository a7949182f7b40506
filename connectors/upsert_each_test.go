package connectors

import (
	"context"
	"errors"
	"testing"
)

func TestUpsertEach(t *testing.T) {
	refusal, outage := errors.New("refused"), errors.New("down")
	write := func(_ context.Context, s string) (string, error) {
		switch s {
		case "bad":
			return "", refusal
		case "down":
			return "", outage
		}
		return "id-" + s, nil
	}
	refused := func(i int, s string, err error) (ItemError, bool) {
		return ItemError{Index: i, ID: s}, errors.Is(err, refusal)
	}
	res, err := UpsertEach(t.Context(), []string{"a", "bad", "b"}, write, refused)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ExternalID != "id-a" || res[2].ExternalID != "id-b" || res[0].Err != nil {
		t.Errorf("written records: %+v", res)
	}
	if ie, ok := res[1].Err.(ItemError); !ok || ie.Index != 1 || ie.ID != "bad" || res[1].ExternalID != "" {
		t.Errorf("refused record: %+v", res[1])
	}
	if res, err := UpsertEach(t.Context(), []string{"a", "down", "b"}, write, refused); !errors.Is(err, outage) || res != nil {
		t.Errorf("an error about the whole call: %v, %v", res, err)
	}
}
