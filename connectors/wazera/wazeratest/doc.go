// Package wazeratest is a fake Wazera API server that follows
// shared/crm-apis/wazera-rest-v1.txt: the contact routes (list with page,
// per_page, search and tag; create, get, update, delete), POST
// /messages/send with text and template messages, Bearer keys, the
// documented error body {"error": {"code", "message", "details"}}, the
// per-plan rate limits, and signed outgoing webhooks (Sign, Event.Signed,
// NewWebhookRequest, Examples, Fake.StatusEvent). Tests use NewServer; a
// CLI (crmhub fake-crm --kind wazera) can serve New(opts) directly, since
// a Fake is an http.Handler.
//
// Where the document is silent the fake reads it as follows; the
// connector's package doc lists the same assumptions from the client's
// side:
//
//   - Routes live under /api/v1. A request without "Authorization:
//     Bearer <key>" or with another key is 401 UNAUTHORIZED; an unknown
//     route 404 NOT_FOUND. Error codes per status: 400 BAD_REQUEST, 401
//     UNAUTHORIZED, 403 FORBIDDEN, 404 NOT_FOUND, 422 VALIDATION_ERROR, 429
//     RATE_LIMITED, 500 SERVER_ERROR. "details" is {} except on a 422,
//     where it maps each bad field to its messages (Laravel's
//     {"phone": ["The phone field is required."]}), and "message" is the
//     first of them, as in the document's example.
//   - With Options.Plan set, a request that would be more than the plan's
//     requests per minute (Starter 100, Professional 500, Enterprise 2000)
//     in the last 60 seconds is answered 429 with Retry-After in seconds.
//     Without Plan nothing is limited, so heavy tests stay fast.
//   - Contact ids are integers assigned from 1 on. Answers wrap records in
//     {"data": ...}; a list answers {"data": [...], "meta": {current_page,
//     per_page, total, last_page}}, in ascending id order, per_page 15 by
//     default and at most 100, page from 1 (a page past the end is empty).
//     search matches name, phone or email case-insensitively; tag matches
//     one tag exactly. POST answers 201, GET/PUT 200, DELETE 200
//     {"message"}.
//   - Contact fields: phone is required on create, in E.164 like the
//     example ("+" and 7 to 15 digits); name and email are optional
//     (email must be an address), strings at most 255 characters; tags an
//     array of non-empty strings; custom_fields an object of any JSON
//     values. Phones need not be unique. PUT changes only the fields it
//     gives (null clears name or email); a field it gives must be valid.
//   - messages/send: to (E.164), whatsapp_account_id (one of
//     Options.WhatsAppAccounts, [1] by default), type "text" (content.body,
//     1 to 4096 characters) or "template" (content.name and
//     content.language, components an optional array) are required; a
//     breach is 422 VALIDATION_ERROR naming "content.body" and so on.
//     Options.RefuseMessage refuses a valid message with any code (422).
//     A sent message is answered 201 {"data": {"id", "to",
//     "whatsapp_account_id", "type", "content", "status": "sent",
//     "created_at"}} and recorded (Messages).
//   - Webhook bodies are {"event", "timestamp", "data"}; data of a message
//     event is WebhookMessage, whose id is the id messages/send answered.
//     The signature is "sha256=" and the hex HMAC-SHA256 of the raw body
//     under the webhook's secret.
//   - Not served: conversations, campaigns and the webhooks routes, which
//     the connector does not use.
package wazeratest
