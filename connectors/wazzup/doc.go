// Package wazzup is the wire client for the Wazzup24 API: v3 contacts and
// the v2 deals, users, channels and send_message routes, as documented in
// shared/crm-apis/wazzup-v3-contacts.txt and wazzup-v2.txt.
//
// The client stays at the wire level: one method per documented route, wire
// types shaped like the documentation's JSON, and the typed errors of package
// connectors so the sync engine can branch with errors.As. It never retries
// and never sleeps; the engine decides what to do with a
// *connectors.RateLimitError or a *connectors.TransientError. Converting wire
// values to crmhub domain values belongs to the mapping layer, not here.
//
// Where the documentation is silent, the client reads it as follows and
// stays tolerant of the alternatives:
//
//   - Authorization: the v3 document shows "Bearer {apiKey}" and the v2
//     document "Basic {apiKey}" (the raw key, not base64). The client sends
//     Bearer on /v3 routes and Basic on /v2 routes.
//   - Error bodies are {"error": CODE, "description": TEXT, "data": ...} on
//     every route, as the v3 examples show; a body of another shape still
//     yields the right typed error from the HTTP status alone.
//   - A 400 INVALID_CONTACTS_DATA rejects the whole batch: nothing of it is
//     stored. UpsertContacts returns a *BatchError holding one
//     connectors.ItemError per bad record; DropRejected splits the batch so
//     the caller can resend the valid records. A v2 VALIDATION_ERROR that
//     names indexes is reported the same way.
//   - GET /v3/contacts answers {"count": N, "data": [...]}; a bare array is
//     accepted too. Pages hold up to 100 records.
//   - Ids the v2 document types as "any" (string or number) decode from
//     either into ID and are sent as strings. Deal ids are numbers, as the
//     v2 document says.
//   - Write batches are capped client-side at MaxBatch (100) records: the v3
//     limit for contacts, assumed for deals, users and bulk_delete since the
//     v2 document gives no limit. ReplaceUsers replaces the whole list in
//     one request and is capped at MaxReplaceUsers instead.
//   - v2 contacts (PATCH/GET /v2/contacts) are superseded by v3 contacts and
//     not implemented; nor is the socket.io unanswered-messages counter,
//     a browser widget's feed that the hub's own unansweredCount replaces.
//     The webhooks settings (PUT/GET /v2/webhooks) belong to webhook
//     registration, not to this client.
//   - POST /v2/iframe (the chat window) answers {"url": URL}; the document
//     shows no answer, so {"link": URL} and a bare JSON string are read
//     too (see Client.Iframe).
//   - Deal ids for deals created in the hub are allocated above the
//     highest remote id (NewDealIDs).
//
// COVERAGE.md lists every documented endpoint, webhook, error code and
// limit with where it is handled and which test covers it.
//
// How the sync engine's decisions map onto Wazzup:
//
//   - Backfill: a hub record the connection has no link for is sent with
//     POST /v3/contacts (PATCH /v2/users) under the id the hub gives it,
//     its global id, or with PATCH /v2/deals under an integer id the hub
//     allocates (NewDealIDs) and keeps as the deal's link. Wazzup matches records only by that id,
//     so a BOTH connection's pull, which runs first, is what links a
//     Wazzup contact to the hub contact with the same number.
//   - Merge: Wazzup cannot merge two contacts. The merged-away contacts'
//     copies are deleted with PATCH /v3/contacts/bulk_delete and the
//     survivor is upserted with all its chats.
//   - Deletions: a hub contact deletion is a bulk_delete, a deal deletion
//     DELETE /v2/deals/{id} and a user deletion DELETE /v2/users/{id}
//     (Connector.DeleteUsers; a missing one counts as deleted).
//   - INCREMENTAL: GET /v3/contacts and GET /v2/deals page by offset in
//     id order and have no filter by change time, and the ids are the
//     CRM's, not increasing with time, so there is no position to resume
//     from: every run re-lists, and unchanged records are skipped by
//     fingerprint.
//   - INVALID_CONTACTS_DATA names the refused records by index and their
//     fields; each becomes a connectors.ItemError whose Detail, shown in
//     SyncRun.errors, lists those fields.
package wazzup
