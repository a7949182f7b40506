package crmhub

import (
	"time"
	"unicode/utf8"
)

// MessagePost is the social network post a message concerns (a comment
// under an Instagram post), as the CRM reported it with the message
// (Wazzup's instPost). Only ID is always set.
type MessagePost struct {
	ID          string     `json:"id"`
	URL         *string    `json:"url,omitempty"`
	Author      *string    `json:"author,omitempty"`
	AuthorName  *string    `json:"authorName,omitempty"`
	Description *string    `json:"description,omitempty"`
	ImageURL    *string    `json:"imageUrl,omitempty"`
	PreviewURL  *string    `json:"previewUrl,omitempty"`
	ImageSHA1   *string    `json:"imageSha1,omitempty"`
	PreviewSHA1 *string    `json:"previewSha1,omitempty"`
	Likes       *int       `json:"likes,omitempty"`
	Comments    *int       `json:"comments,omitempty"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
	UpdatedAt   *time.Time `json:"updatedAt,omitempty"`
}

// Bounds of a stored MessagePost's text, in characters: a CRM's webhook
// is not trusted to keep them small.
const (
	MaxPostText         = 4000
	MaxPostField        = 2048
	maxPostIDCharacters = 255
)

// Clip returns the post with every text cut to its bound, so that what a
// CRM sends cannot grow a stored message without limit; nil for nil or a
// post without an id.
func (p *MessagePost) Clip() *MessagePost {
	if p == nil || p.ID == "" {
		return nil
	}
	c := *p
	c.ID = clipText(c.ID, maxPostIDCharacters)
	for _, f := range []**string{&c.URL, &c.Author, &c.AuthorName, &c.ImageURL, &c.PreviewURL, &c.ImageSHA1, &c.PreviewSHA1} {
		if *f != nil {
			v := clipText(**f, MaxPostField)
			*f = &v
		}
	}
	if c.Description != nil {
		v := clipText(*c.Description, MaxPostText)
		c.Description = &v
	}
	return &c
}

// clipText cuts s to at most n characters.
func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
