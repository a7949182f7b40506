// Package wazera is the connector for the Wazera API v1, as documented in
// shared/crm-apis/wazera-rest-v1.txt: a wire Client for the contact and
// messages/send routes, the connectors.Connector of contacts, a
// connectors.WebhookParser for Wazera's signed outgoing webhooks and a
// connectors.MessageSender. Package wazeratest is its fake.
//
// The client stays at the wire level and returns the typed errors of
// package connectors (429 RateLimitError, 401/403 AuthError, 5xx and
// transport failures TransientError, other 4xx a *RemoteError holding a
// *connectors.RequestError). It never retries. It paces its requests
// under the plan's documented limit (Starter 100, Professional 500,
// Enterprise 2000 requests per minute) with a token bucket sized so that
// no 60-second window, fixed or sliding, holds more than that: a burst of
// a tenth of the limit, refilled at nine tenths of it per minute.
//
// Where the document is silent, the package reads it as follows and stays
// tolerant of the alternatives:
//
//   - The base URL is the account's host; "/api/v1" is appended unless
//     the configured URL already ends with it.
//   - Error bodies are {"error": {"code", "message", "details"}} on every
//     status. A body of another shape still yields the right typed error
//     from the status. For a 422, details maps field names to messages
//     (Laravel style); their names become the ItemError's Fields.
//   - Ids are integers (the document's other ids are); they are read from
//     a JSON number or string and kept as text.
//   - Records come wrapped, {"data": {...}}, or bare; lists as {"data":
//     [...], "meta": {"current_page", "per_page", "total", "last_page"}},
//     with the pagination at the top level (a plain Laravel paginator), or
//     as a bare array. A page follows while page < last_page, else while
//     page*per_page < total, else while pages come full. per_page is at
//     most 100 (MaxPerPage).
//   - The plan is the connection option "plan" (starter, professional,
//     enterprise, any case); absent means Starter.
//   - Contacts have one phone and one email. phone, which the create
//     example gives in E.164 and which the example error requires, is the
//     contact's WhatsApp number. Every field is sent on create and update,
//     null or empty when the hub has none, so PUT clears what the hub
//     cleared whether Wazera replaces or patches.
//   - There is no batch route, so each record is one request, and no way
//     to choose a contact's id: the hub knows a contact by Wazera's id.
//     A record pushed for the first time is created with POST and
//     reported under the id the answer carries, which the engine links
//     it by; nothing of the hub's is stored on the contact. See
//     Connector. The document has no deals or users: the Connector is
//     neither a connectors.DealSyncer nor a UserSyncer.
//   - Webhook bodies are {"event", "timestamp", "data"}, data being the
//     message (or {"message": ...}) with id (or message_id), from/to,
//     type, content {body | url, caption}, status, contact {id, name,
//     phone, email}, whatsapp_account_id and created_at; times are RFC
//     3339 strings or Unix seconds. The message id is the one
//     messages/send answers. X-Wazera-Signature is "sha256=" and the hex
//     HMAC-SHA256 of the raw body under the webhook's secret; a
//     connection without a secret accepts no webhook.
//   - messages/send answers {"data": {"id", "status"}} (or the same at
//     the top level, or "message_id"); any 2xx is a success. Its refusals
//     use the documented error body; their code becomes the
//     crmhub.SendError's. The sending account is the connection option
//     "whatsapp_account_id". Only WhatsApp text and template messages are
//     documented; the hub's template components map is sent as Wazera's
//     components array (see templateComponents).
//   - Outgoing webhooks are registered through GET and POST /webhooks
//     (hooks.go, a connectors.HookRegistrar): one webhook for every
//     documented event, signed with the connection's secret; one already
//     pointing at the hub's URL is deleted first. Removal uses DELETE
//     /webhooks/{id}, which the document does not list (the REST
//     reading); a 404 there means it is gone already.
//   - Conversation events carry the conversation {id, status, assigned_to,
//     contact {id, name, phone, email}} as GET /conversations would list
//     it; contact events carry the contact. conversation.created opens the
//     hub conversation (setting no status, so a late delivery does not
//     reopen a closed one), conversation.closed closes it. The coverage of
//     the whole document is in COVERAGE.md.
//
// How the sync engine's decisions map onto Wazera: a backfilled hub record
// is created (Wazera gives it its own id, which the hub then links) unless
// it is linked to a Wazera id already, which is updated. Wazera has no
// lookup by identifier to match a record before creating it; in a BOTH
// connection the pull, which runs first, links the Wazera contacts that
// share a hub contact's phone. A hub merge deletes the merged-away
// contacts' copies (Wazera cannot merge) and updates the survivor;
// deletions are contacts only. The listing pages by page number without
// an order by change time, so INCREMENTAL re-lists and skips unchanged
// records by fingerprint.
package wazera
