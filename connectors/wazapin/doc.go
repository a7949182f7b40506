// Package wazapin is the connector for the Wazapin Contacts API v1, as
// documented in shared/crm-apis/wazapin-contacts-v1.txt: the wire Client
// (one method per documented route, wire types shaped like the document's
// JSON, the typed errors of package connectors), the Connector that the
// sync engine drives, and the pure conversions of mapping.go. The client
// never retries and never sleeps; the engine decides what to do with a
// *connectors.RateLimitError or *connectors.TransientError.
//
// Errors: 429 is a *connectors.RateLimitError with Retry-After (seconds or
// an HTTP date; 0 when absent); 401 and 403 a *connectors.AuthError; 5xx,
// timeouts and dropped connections a *connectors.TransientError; any other
// 4xx a *RequestError, which wraps a *connectors.RequestError carrying the
// body's "code" and "error" text.
//
// The Connector syncs contacts only: the document has no deals or users,
// so it is neither a connectors.DealSyncer nor a UserSyncer. It sets
// Capabilities.ResolveByIdentifier. UpsertContacts resolves each record
// with POST /v1/contacts/resolve by every identifier it carries, then
// PATCHes the contact found (200), creates one (404) with
// external_source "crmhub" and external_id the record's ExternalID (so
// that a resent batch finds it again), or
// fails the record with a connectors.ItemError coded "IDENTITY_CONFLICT"
// (409, and also a 409 of the PATCH or POST, whose phone number or
// external id belongs to another contact). The Connector also implements
// the optional connectors.ConsentSyncer (consent per channel and
// suppressions, which the sync engine carries both ways) and
// connectors.NoteSyncer; tags have methods of their own (see consent.go).
//
// Where the document is silent, the package reads it as follows and stays
// tolerant of the alternatives:
//
//   - Every request carries X-Api-Key and Content-Type: application/json
//     (the document marks both required, without exempting GET).
//   - Success bodies are {"data": ...} as in the examples; a body without
//     the envelope is decoded as the data itself. Error bodies are
//     {"error": TEXT, "code": CODE} on every route, with "fields" (the
//     invalid field names) on a 422 validation_error; a body of another
//     shape still yields the right typed error from the status alone.
//   - GET /v1/contacts pages by ?page= (1-based) and ?limit= (the
//     connector asks for 100) and answers {"data": [...], "meta": {"page",
//     "limit", "total"}}. A "next_cursor" in meta or beside data is
//     followed instead (sent back as ?cursor=); a bare array is accepted;
//     without a total, a full page means another may follow. The
//     connector's cursor is the page number, or "c:" and the remote's
//     cursor. Contacts come in a stable order (ascending id assumed).
//   - The ExternalID the hub knows a contact by is the external_id of a
//     contact whose external_source is "crmhub" (those the connector
//     created: the hub's own id), else Wazapin's contact id. Push and
//     delete accept both: the ExternalID is resolved as a crmhub external
//     id and as a contact_id. UpsertContacts reports each record under
//     that ExternalID of the contact it PATCHed or created, and the engine
//     links the hub record by it; a contact found by its phone or email
//     keeps its external_source and external_id (another source's, or
//     none) and is reported, and pulled, under its Wazapin id.
//   - Resolve ignores identifiers that match no contact: it answers 404
//     only when none matches, and 409 when the ones that match point at
//     different contacts. phone, whatsapp and wa_id match each other by
//     digits. Resolve carries at most 20 identifiers (the hub's own limit
//     per contact); telegram, instagram and vk cannot be resolved and are
//     left out.
//   - Create and PATCH take the create example's fields: phone_number,
//     name, email, external_source, external_id, custom_fields. The first
//     PHONE (else WHATSAPP, else WA_ID) identifier becomes phone_number in
//     E.164 and the first EMAIL the email; the document has no route to
//     add other identities, so those are only used to resolve. A push
//     sends only the fields the record has and never clears one at the
//     remote; custom_fields, when sent, replace the stored object.
//   - Pull reads each contact's identities (GET .../identities:
//     {"data": [{"type", "value", "source"}]}) and tags (GET .../tags:
//     {"data": [{"name"}]}, bare strings accepted), one request each,
//     unless the listing inlines "identities" or "tags". phone_number and
//     email count as identities; the crmhub external id is the ExternalID,
//     not an identifier; other sources' external ids become EXTERNAL_ID
//     identifiers with their source. Notes are not pulled: a
//     RemoteContact has no place for them (Connector.Notes reads them).
//   - Tags are assigned with POST .../tags {"name"}; assigning a tag the
//     contact has is harmless. There is no route to remove one, so a push
//     only adds tags.
//   - DELETE answers 2xx for a deleted contact and 404 for a missing one.
//     Wazapin has no batch routes: MaxBatch (50) bounds each call, whose
//     records are sent one by one. A 429, 5xx or refused key stops the
//     call; records written before it are found again by resolve, so the
//     engine may resend the whole batch.
//   - Consent: PUT .../consent/{channel} with {"status", "source",
//     "evidence", "captured_at"}; channels are the hub's in lower case
//     (whatsapp, sms, email, telegram, instagram, vk); statuses opted_in,
//     opted_out and pending (granted, revoked, denied, unsubscribed and
//     unknown are read too). GET .../consents answers one row per channel.
//   - Suppressions: GET .../suppressions lists {"id", "channel", "reason",
//     "active", "created_at", "expires_at", "lifted_at"}; POST creates the
//     channel's suppression or updates it. The document has no lift route:
//     lifting is a POST with "active": false.
//   - Notes: GET and POST .../notes with {"id", "content", "created_at"}.
//   - Timestamps, which the document never shows, are RFC 3339 text or
//     Unix seconds; anything else reads as unknown.
//   - GET /v1/contacts/phone/{phone} takes the number in E.164 ("+" kept
//     in the path).
//   - POST /v1/contacts/lookup, the compatibility alias of resolve, serves
//     deployments older than /resolve: a 404 of /resolve whose body is not
//     the documented {"code": "not_found"} means the route is missing, and
//     the client resolves through /lookup from then on.
//   - POST /v1/channels/{channelID}/contacts/lookup (a provider profile
//     lookup through a connected channel) is not used: this connector
//     syncs stored CRM contacts, which the document sends to resolve; it
//     has no channels, the document lists no route to learn channel ids,
//     and it shows neither the request nor the answer of that route.
//
// COVERAGE.md lists every documented item and where it is handled.
//
// How the sync engine's decisions map onto Wazapin:
//
//   - Backfill: each hub record is resolved first, by every identifier it
//     carries; a hit is PATCHed (and linked under that contact's id), a
//     miss created with external_source "crmhub".
//   - Merge: the document has no merge route. The merged-away contacts'
//     copies are deleted (DELETE /v1/contacts/{id}); the survivor is then
//     resolved, finding its own copy, and PATCHed.
//   - Deletions: contacts only; Wazapin keeps no deals or users.
//   - INCREMENTAL: GET /v1/contacts pages by page number without an order
//     by change time or a filter, so every run re-lists, and unchanged
//     records are skipped by fingerprint.
package wazapin
