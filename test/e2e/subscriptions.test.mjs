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

test('live event, then exactly the missed events after reconnecting', async () => {
  const first = client();
  const live = take(first, eventsQuery, {}, 1);
  // The subscription may be registered a moment after subscribe() returns,
  // so write until the live event arrives (replay would also deliver it).
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
