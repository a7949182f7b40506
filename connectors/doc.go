// Package connectors holds what every external-CRM connector shares: the
// Connector interface and its optional extensions (DealSyncer, UserSyncer,
// ConsentSyncer, NoteSyncer, WebhookParser, MessageSender), the remote
// record types, the typed errors the sync engine branches on, and an
// explicit Registry that cmd builds. One sub-package per CRM implements
// them against its documented API (wazzup, wazapin, wazelo, wazera) and is
// tested against an in-repo fake of that API; connectors/connectortest is
// the conformance suite each must pass.
//
// A connector returns domain values and never touches the database: the
// sync engine (connectors/syncer) hands what it pulls to the same
// crmhub.ContactService methods the GraphQL API calls (UpsertContacts,
// ResolveContact, ...), and finds a connector's optional parts by
// asserting their interfaces.
package connectors
