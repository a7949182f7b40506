// Package wazapintest is a fake Wazapin Contacts API v1 server that
// follows shared/crm-apis/wazapin-contacts-v1.txt: every contact route of
// the document's table (create-or-upsert, list, get, patch, delete, get by
// phone, resolve and its lookup alias, identities, notes, tags, consent
// per channel, suppressions), X-Api-Key authentication and the documented
// bodies: {"data": ...} on success, {"error": TEXT, "code": CODE} on
// failure, 404 not_found and 409 conflict from resolve.
//
// Tests use NewServer; a CLI (crmhub fake-crm --kind wazapin) can serve
// New(opts) directly, since a Fake is an http.Handler. Options seed
// contacts (with identities, tags, notes, consents and suppressions) and
// inject 429 with Retry-After or 5xx answers, every Nth request, per
// request (Inject) or for the next requests (InjectNext). Calls, Total and
// Requests count and log what arrived.
//
// Where the document is silent the fake reads it as follows (package
// wazapin's doc states the same reading from the client's side):
//
//   - A missing or wrong X-Api-Key is 401 unauthorized. A request with a
//     body whose Content-Type is not application/json is 415
//     unsupported_media_type; a body that is not a JSON object is 400
//     invalid_request; a body over MaxBody is 413.
//   - Invalid fields are 422 validation_error naming them in "fields".
//     Limits (the document gives none): phone_number E.164 ("+" and 7 to
//     15 digits), email a bare address of at most 254 characters, name 255,
//     external_source 100 and external_id 255 characters and given
//     together, at most 50 custom fields with keys up to 64 characters;
//     a contact needs a phone number, an email or an external id.
//     Resolve takes 1 to 20 identifiers of the documented types, phone-like
//     values being 7 to 15 digits with or without "+", external_id with a
//     source. Tags 1 to 64 characters, notes up to 5000, consent source 200
//     and evidence 2000, suppression reasons 500.
//   - Phone numbers and external (source, id) pairs are unique. POST
//     /v1/contacts updates the contact that holds its phone number or
//     external pair (200) and creates one otherwise (201); 409 conflict when
//     they belong to different contacts. PATCH answers 409 when the phone
//     number or pair would belong to two contacts. Empty strings clear a
//     field on PATCH; custom_fields replace the stored object.
//   - Resolve answers the one contact its identifiers match, 404 when none,
//     409 when several; identifiers that match nothing are ignored. phone,
//     whatsapp and wa_id match one another by digits, email without case.
//   - GET /v1/contacts takes page (from 1) and limit (1 to 100, default
//     20) and answers {"data", "meta": {"page", "limit", "total"}} in
//     ascending id order. Ids are generated in creation order (cnt_...).
//   - DELETE answers 204. Identities list the phone_number, email and
//     external pair of the contact, then its seeded identities. Assigning a
//     tag already there answers 200, a new one 201. PUT consent answers 200
//     with the row; channels are whatsapp, sms, email, telegram, instagram
//     and vk, statuses opted_in, opted_out and pending. POST suppressions
//     creates (201) or updates (200) the channel's suppression; "active":
//     false lifts it and true restores it.
//   - Injected failures are 429 rate_limited (with Retry-After when given)
//     and 500 internal_error.
package wazapintest
