// Package crmhub holds the language of the domain: the types, error codes,
// service interfaces and pure rules (identifier normalization, global ids,
// scopes) that every adapter of the service shares.
//
// The package imports nothing from this module and nothing that speaks SQL,
// GraphQL or HTTP. Package db implements the services on PostgreSQL, package
// resolver exposes them over GraphQL, packages under connectors sync them with
// external CRMs, and cmd/crmhub wires them together.
package crmhub

import "time"

// Clock tells the time. Services take one so tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock, in UTC truncated to microseconds (the
// resolution PostgreSQL stores) so values round-trip unchanged.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// MaxBatch is the most items one bulk call (upsert, delete) accepts.
const MaxBatch = 100

// MaxPageSize caps the `first` argument of every connection.
const MaxPageSize = 100

// DefaultPageSize is used when a connection is asked for without `first`.
const DefaultPageSize = 20

// MaxNameLength is the longest contact name accepted, in characters.
const MaxNameLength = 200
