// Package connectors will hold the Connector interface, the registry, the
// sync engine and the conformance suite every external-CRM connector must
// pass; one sub-package per CRM (wazzup, wazapin, wazelo, wazera).
//
// A connector returns domain values and never touches the database: the
// sync engine hands what it pulls to the same crmhub.ContactService methods
// the GraphQL API calls (UpsertContacts, ResolveContact, ...). Nothing is
// implemented here yet; see the "Connector framework" issue.
package connectors
