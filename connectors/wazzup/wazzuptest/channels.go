package wazzuptest

import (
	"net/http"
	"slices"
)

// Channel is a messenger account of the integration, as GET /v2/channels
// lists it. State is one of active, disabled, phoneUnavailable, qr,
// openElsewhere, notEnoughMoney.
type Channel struct {
	ChannelID string `json:"channelId"`
	Transport string `json:"transport"`
	PlainID   string `json:"plainId"`
	State     string `json:"state"`
}

// SetChannels replaces the integration's channels.
func (f *Fake) SetChannels(channels ...Channel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels = slices.Clone(channels)
}

// Channels returns the integration's channels.
func (f *Fake) Channels() []Channel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Channel{}, f.channels...)
}

func (f *Fake) listChannels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Channels())
}
