// Package wazzuptest is a fake Wazzup24 API server that follows
// shared/crm-apis/wazzup-v3-contacts.txt and wazzup-v2.txt: the v3 contact
// routes, the v2 deal, user, channel and send_message routes, their
// validation limits and their error bodies. Tests use NewServer; a CLI can
// serve a Fake directly, since it is an http.Handler.
//
// The fake is strict where the documents are explicit: the 100-entity limit
// (TOO_MACH_ENTITIES, spelled as documented, with data {count, limit}),
// required contact fields and their lengths (INVALID_CONTACTS_DATA with one
// {index, fields} entry per bad contact), page sizes of 100, ascending-id
// order of the contact list, offset/orderBy/orderDirection of the deal list,
// user id and name lengths, the send_message error codes, and 201
// {"messageId"} for a sent message.
//
// Where the documents are silent it reads them as follows:
//
//   - Authorization is "Bearer KEY" or "Basic KEY" (the raw key) on every
//     route: the v3 document shows Bearer, and Basic in its DELETE example;
//     the v2 document shows Basic. A missing header or another key is
//     answered 401 {"error": "UNAUTHORIZED", "description": ...}.
//   - Every error body is {"error": CODE, "description": TEXT} plus "data"
//     where the documents show one. A missing record is 404 NOT_FOUND on
//     every GET or DELETE of one record. Malformed query parameters and v2
//     bodies are 400 VALIDATION_ERROR; a v2 batch with bad records names
//     them in "data" as INVALID_CONTACTS_DATA does. Injected failures are
//     429 TOO_MANY_REQUESTS (with Retry-After) and 500 UNKNOWN_ERROR.
//   - A batch with an invalid record is refused as a whole (a 400): none of
//     it is stored. Inside a batch the last record with a given id wins.
//     An upsert replaces the stored record with the one sent.
//   - Successful writes answer 200 with an empty body, except bulk_delete
//     (200 and the JSON array of ids it did not have, [] when none) and
//     send_message (201). GET /v3/contacts answers {"count", "data"}.
//   - Lengths count characters (Unicode code points). Required strings must
//     not be empty. contactData must hold at least one entry; chatType is
//     one of whatsapp, whatsgroup, instagram, telegram, vk (the values the
//     documents name); a WhatsApp chatId is 9 to 16 digits, an Instagram
//     one has no leading "@"; a Telegram entry may give username or phone
//     instead of chatId.
//   - responsibleUserId need not name a known user unless
//     Options.RequireKnownUsers is set.
//   - Values the v2 document types "any" (string or number) are accepted in
//     either form and answered as strings; deal ids are integers. The v2
//     write routes take batches of any size: only v3 documents a limit.
//   - send_message refusals are 400, except UNKNOWN_ERROR and
//     MESSAGES_CAN_NOT_ADD (500). The fake derives the codes it can from
//     the request and its channels (state disabled -> CHANNEL_BLOCKED,
//     notEnoughMoney -> CHANNEL_NO_MONEY, other inactive states ->
//     MESSAGE_CHANNEL_UNAVAILABLE, transport mismatch ->
//     MESSAGES_ABNORMAL_SEND or, from Instagram, MESSAGES_INVALID_CONTACT_TYPE,
//     content not an http(s) URL -> MESSAGE_DOWNLOAD_CONTENT_ERROR);
//     Options.RefuseMessage answers any other documented code.
//   - POST /v2/iframe answers 200 {"url": ...} (the document shows no
//     answer) after checking user, scope, filter and activeChat; Iframes
//     lists the requests served.
//   - Not served: v2 contacts (superseded by v3), webhooks settings and
//     the socket.io unanswered-messages counter.
package wazzuptest
