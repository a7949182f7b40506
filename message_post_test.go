package crmhub

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMessagePostClip(t *testing.T) {
	if (*MessagePost)(nil).Clip() != nil || (&MessagePost{}).Clip() != nil {
		t.Fatal("a post without an id is kept")
	}
	long := strings.Repeat("ж", MaxPostText+10)
	url := "https://x.io/" + long
	p := &MessagePost{ID: "1", Description: &long, URL: &url}
	c := p.Clip()
	if utf8.RuneCountInString(*c.Description) != MaxPostText || utf8.RuneCountInString(*c.URL) != MaxPostField {
		t.Fatalf("clipped to %d and %d characters", utf8.RuneCountInString(*c.Description), utf8.RuneCountInString(*c.URL))
	}
	if *p.Description != long {
		t.Fatal("Clip changed the original")
	}
}
