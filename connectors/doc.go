// Package connectors holds what every external-CRM connector shares: the
// Connector interface, the remote record types, the typed errors the sync
// engine branches on, and an explicit Registry that cmd builds. One
// sub-package per CRM implements the interface against its documented API
// (connectors/wazzup so far) and is tested against an in-repo fake of that
// API; connectors/connectortest is the conformance suite each must pass.
//
// A connector returns domain values and never touches the database: the
// sync engine (not built yet) hands what it pulls to the same
// crmhub.ContactService methods the GraphQL API calls (UpsertContacts,
// ResolveContact, ...).
package connectors
