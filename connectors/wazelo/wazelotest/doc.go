// Package wazelotest is a fake Wazelo CRM REST API v1 server that follows
// shared/crm-apis/wazelo-rest-v1.txt: Bearer keys (a read-only key gets
// 403 on writes), the {success, data, meta} envelope with page/limit
// pagination, the documented error body and codes, contacts, messages, and
// signed webhooks built for tests to post. Tests use NewServer; a CLI
// (crmhub fake-crm --kind wazelo) can serve New(opts) directly, since a
// Fake is an http.Handler. The API lives under /v1.
//
// The fake reads the document as package wazelo's doc.go states, and is
// strict about:
//
//   - Contacts: POST requires phone (an optional "+" and 8 to 15 digits,
//     stored as digits); id (optional, up to 64 letters, digits, "_" or
//     "-", generated as cnt_NNNNNNN otherwise); name up to 255 characters;
//     email a plain address up to 254; tags up to 20 of 1 to 50
//     characters; custom_fields up to 50 keys of 1 to 64 characters with
//     string (up to 1000), number, boolean or null values. A field of the
//     wrong type or beyond a limit is 422 VALIDATION_ERROR with one
//     {field, message} per fault in error.errors. A body that is not a
//     JSON object is 400 BAD_REQUEST.
//   - A phone number another contact has, or an id already taken, is 409
//     CONFLICT; a missing contact is 404 CONTACT_NOT_FOUND "No contact
//     found with ID x", as the document's example.
//   - PATCH changes the fields given; null clears a field, except phone,
//     which cannot be removed (422).
//   - GET /v1/contacts: page >= 1 (default 1), limit 1 to 100 (default
//     20, as the envelope example), else 400; creation order; search
//     matches phone digits when it is a number, else name or email; tag
//     filters. meta.total counts the filtered listing.
//   - POST /v1/messages: to (a phone number), type (text, image, audio,
//     video, document, template), text up to 4096 (a caption up to 1024),
//     media_url http(s) for media, template.name and template.language
//     for templates. A message other than a template to a number that has
//     not written within 24 hours (see Receive, OpenWindow) is 422
//     OUTSIDE_24H_WINDOW. A repeated Idempotency-Key answers the first
//     message again. Accepted messages answer 201 {message_id, status:
//     "queued"}.
//   - Injected failures: InjectNext queues faults; RateLimitEvery,
//     FailEvery and Inject decide per request. A 429 carries Retry-After
//     when given, with code RATE_LIMITED; a 500 INTERNAL_ERROR.
//   - Unknown routes are 404 NOT_FOUND; authentication is checked after
//     injected faults, so a fault answers even a bad key.
package wazelotest
