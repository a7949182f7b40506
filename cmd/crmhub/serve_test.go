package main

import "testing"

func TestDevKeyLink(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"crm_AbC-d_9", "http://localhost:8080/#apiKey=crm_AbC-d_9"},
		// Escaped as a form value: the page reads it with URLSearchParams.
		{"a+b/c&d=e f", "http://localhost:8080/#apiKey=a%2Bb%2Fc%26d%3De+f"},
	} {
		if got := devKeyLink("http://localhost:8080", tc.key); got != tc.want {
			t.Errorf("devKeyLink(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
