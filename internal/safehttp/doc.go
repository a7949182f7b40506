// Package safehttp is the outbound HTTP of URLs that API clients give the
// service (webhook endpoints, the base URLs of connections): a client that
// refuses to dial non-public addresses, the check of a host when such a
// URL is saved, and the one reader of Retry-After that every caller shares.
//
// Unless the server allows private addresses, such a URL must not lead
// into the server's own network: its host is resolved when the URL is
// saved and refused if any address is not public (CheckHost), and the
// address actually dialled is checked again on every connection
// (NewClient), so DNS rebinding cannot reach it either.
package safehttp
