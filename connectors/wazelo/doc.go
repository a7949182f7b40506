// Package wazelo is the connector for Wazelo CRM's REST API v1, as
// documented in shared/crm-apis/wazelo-rest-v1.txt: a wire client
// (Client), the connectors.Connector for contacts, a
// connectors.WebhookParser for the signed message webhooks and a
// connectors.MessageSender for WhatsApp messages.
//
// The client sends "Authorization: Bearer KEY", reads the documented
// {success, data, meta{page, limit, total}} envelope and maps the
// documented error body {success: false, error: {code, message, status}}
// to the typed errors of package connectors: 429 RateLimitError with
// Retry-After, 401/403 AuthError, 5xx and no answer TransientError, any
// other status RequestError (a *ValidationError when it names fields). It
// never retries and never sleeps.
//
// The document describes the envelope, the error codes, the webhooks and
// one message.received example, and names the contacts and messages
// resources without their routes or fields. Where it is silent this
// package reads it as follows, and stays tolerant where it can:
//
//   - The base URL includes the version: https://api.wazelo.in/v1.
//   - Contacts are REST routes under /contacts: GET (list, query page,
//     limit, search, tag), POST (create), GET/PATCH/DELETE /contacts/{id}.
//     PATCH updates the fields given (null clears one). POST and PATCH
//     answer the contact as stored in data; DELETE answers 2xx. A missing
//     contact is 404 (CONTACT_NOT_FOUND, as the example shows).
//   - A contact is {id, name, phone, email, tags, custom_fields,
//     created_at, updated_at}. phone is the WhatsApp number as digits with
//     the country code and no "+" (like the webhook's "from"); a "+" or
//     punctuation read from the remote is tolerated. Mapping rules are in
//     mapping.go.
//   - POST /contacts may accept the caller's id: the connector asks for
//     the record's ExternalID, so that a write repeated after a rate limit
//     updates instead of creating again. Whatever id the remote answers
//     with (the one asked for, or its own) is the one UpsertContacts
//     reports, and the engine links the hub record by it.
//   - Lists take limit up to 100 (the connector asks for 100) and order
//     records by creation. meta.total is the count of the whole listing;
//     without meta, a full page means another may follow. meta.limit, when
//     smaller than asked, is used to decide whether a page follows.
//   - search matches the phone number (digits); it is how a duplicate
//     phone's contact is found. Results are filtered again by exact phone.
//   - 409 CONFLICT on create is a duplicate phone (the document's
//     example) or id: the connector looks the phone up and updates that
//     contact instead; if the search finds none, the 409 fails the record.
//     A 409 on update (the phone belongs to another contact) fails the
//     record.
//   - A 422 VALIDATION_ERROR lists {field, message} objects in
//     error.errors ("see errors array"); an errors array beside error is
//     read too. They become ItemError.Fields.
//   - There are no bulk routes: each record costs one request (two when it
//     is new), and a batch that hits a rate limit is retried whole by the
//     engine, which is harmless: the records written before it are
//     updated by the id asked for or, when the remote assigned its own,
//     found by their phone (which Wazelo requires) after the create's 409.
//   - No deals or users are documented: the Connector is neither a
//     connectors.DealSyncer nor a UserSyncer. Conversations and campaigns
//     have no documented routes: the hub learns conversations from the
//     webhooks and records campaign.completed; it does not create
//     campaigns. Webhooks are registered in Wazelo's settings, not by API,
//     so the Connector is no connectors.HookRegistrar.
//   - Messages: POST /messages with {to, type, text, media_url, template
//     {name, language, components}, reply_to}; type is text, image, audio,
//     video, document or template; 201 with data {message_id, status}.
//     The message's id is sent as Idempotency-Key. Any 4xx other than
//     401/403/429 is the remote refusing the message (*crmhub.SendError
//     with its code); CodeOutsideWindow is the code the fake gives a
//     freeform message outside the 24-hour window.
//   - Webhooks: X-Wazelo-Signature is the lower-case hex HMAC-SHA256 of
//     the raw body ("sha256=" prefix and upper case tolerated). The
//     message.delivered and message.read events carry data.message_id and
//     optionally delivered_at/read_at; the event's timestamp is used
//     otherwise. A body may be one event or an array of events. Inbound.ID
//     is the message id for a message and "id:delivered" or "id:read" for
//     a status, so the two updates of one message are not taken for a
//     replay of each other.
//   - The conversation, contact and campaign events show no data in the
//     document; they are read as record_events.go describes:
//     conversation.assigned and conversation.resolved carry
//     conversation_id (the one message.received carries), contact_id and
//     the number ("from" or "phone"), and for an assignment assigned_to,
//     the agent {id, name, email} or its id; contact.created carries the
//     contact as the contacts resource has it; campaign.completed carries
//     campaign_id (or id), name, stats and completed_at. An event lacking
//     its ids is skipped. The coverage of the whole document is in
//     COVERAGE.md.
//
// How the sync engine's decisions map onto Wazelo: a backfilled hub
// record is updated under its id, else created asking for that id, and
// a create refused for a phone another contact has updates that contact
// (see UpsertContacts). A hub merge deletes the merged-away contacts'
// copies (Wazelo cannot merge) and upserts the survivor; deletions are
// contacts only. The listing pages by page number without an order by
// change time, so INCREMENTAL re-lists and skips unchanged records by
// fingerprint.
package wazelo
