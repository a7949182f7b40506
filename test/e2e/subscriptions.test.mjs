// End-to-end test of crmhub's GraphQL subscriptions with the real
// graphql-ws client. The Go test beside this file starts the server and
// passes CRMHUB_HTTP (http://host:port/graphql) and CRMHUB_KEY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const httpURL = process.env.CRMHUB_HTTP;
const wsURL = httpURL.replace(/^http/, 'ws');
const key = process.env.CRMHUB_KEY;

async function gql(query, variables) {
  const res = await fetch(httpURL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function createContact(email) {
  const data = await gql(
    'mutation($in: ContactInput!) { createContact(input: $in) { id } }',
    { in: { identifiers: [{ type: 'EMAIL', value: email }] } },
  );
  return data.createContact.id;
}

function client(authorization = `Bearer ${key}`) {
  return createClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: authorization },
    retryAttempts: 0,
    lazy: true,
  });
}

// take subscribes and resolves with the first n results, then unsubscribes.
function take(c, query, variables, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} events`)), 15000);
    const stop = c.subscribe(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) { clearTimeout(timer); reject(new Error(JSON.stringify(v.errors))); return; }
          got.push(v.data.events);
          if (got.length === n) { clearTimeout(timer); stop(); resolve(got); }
        },
        error: (e) => { clearTimeout(timer); reject(e); },
        complete: () => {},
      },
    );
  });
}

const eventsQuery = `subscription($after: String) {
  events(types: ["contact.created"], after: $after) { cursor type subjectId }
}`;

// lastCursor pages through the log over HTTP and returns its newest
// event's cursor.
async function lastCursor() {
  let after = null;
  let last = null;
  for (;;) {
    const { events } = await gql(
      'query($after: String) { events(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    if (events.edges.length > 0) last = events.edges[events.edges.length - 1].cursor;
    if (!events.pageInfo.hasNextPage) return last;
    after = events.pageInfo.endCursor;
  }
}

test('live event, then exactly the missed events after reconnecting', async () => {
  // A subscription without `after` follows the log from the moment the
  // server registers it, which the client cannot observe: a write right
  // after subscribe() could come first and be missed. Subscribing from the
  // log's newest cursor (a marker write makes sure there is one) covers
  // that moment: the server replays whatever came after the cursor, then
  // continues live.
  await createContact(`e2e-marker-${Date.now()}@example.com`);
  const from = await lastCursor();
  assert.ok(from, 'the log has the marker event');

  const first = client();
  const live = take(first, eventsQuery, { after: from }, 1);
  const id1 = await createContact(`e2e-live-${Date.now()}@example.com`);
  const [ev1] = await live;
  assert.equal(ev1.type, 'contact.created');
  assert.equal(ev1.subjectId, id1);
  await first.dispose();

  const missed = [];
  for (let i = 0; i < 3; i++) missed.push(await createContact(`e2e-missed-${i}-${Date.now()}@example.com`));

  const second = client();
  const got = await take(second, eventsQuery, { after: ev1.cursor }, 3);
  assert.deepEqual(got.map((e) => e.subjectId), missed);
  await second.dispose();

  // Nothing but the missed events: from the last of them, the next event
  // is the next write.
  const third = client();
  const next = take(third, eventsQuery, { after: got[2].cursor }, 1);
  const id5 = await createContact(`e2e-after-${Date.now()}@example.com`);
  const [ev5] = await next;
  assert.equal(ev5.subjectId, id5);
  await third.dispose();
});

test('a bad key closes the socket with 4401 or 4403', async () => {
  const c = createClient({
    url: wsURL, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
    connectionParams: { Authorization: 'Bearer crm_not-a-key' },
  });
  const code = await new Promise((resolve) => {
    c.on('closed', (e) => resolve(e.code));
  });
  assert.ok(code === 4401 || code === 4403, `closed with ${code}`);
  await c.dispose();
});
