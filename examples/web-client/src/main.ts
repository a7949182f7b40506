// A walk through crmhub from TypeScript: upsert a contact (mutation), read
// it with its events (query), follow its events live (subscription) while
// a second upsert renames it. Run it against `make run`:
//
//   CRMHUB_API_KEY=$(cat ../../.crmhub-dev-key) npm start
//
// It prints one JSON line per step and exits 0 when the renaming arrived
// through the subscription.
import { Crmhub } from './client.js';
import { ContactEvents, ContactWithHistory, UpsertContact } from './operations.js';

const url = process.env.CRMHUB_URL ?? 'http://localhost:8080/graphql';
const apiKey = process.env.CRMHUB_API_KEY;
if (!apiKey) {
  console.error('set CRMHUB_API_KEY (make run prints a dev key and keeps it in .crmhub-dev-key)');
  process.exit(2);
}
// How long the renaming may take to arrive through the subscription.
const eventTimeoutMs = 15_000;

const crm = new Crmhub({ url, apiKey, persistedOnly: process.env.CRMHUB_PERSISTED_ONLY === 'true' });
const step = (name: string, value: unknown) => console.log(JSON.stringify({ step: name, ...(value as object) }));

async function upsert(email: string, name: string) {
  const { upsertContacts } = await crm.execute(UpsertContact, { email, name });
  const [result] = upsertContacts.results;
  if (!result?.contact) throw new Error(`upsert failed: ${JSON.stringify(result?.errors)}`);
  return { status: result.status, contact: result.contact };
}

async function main() {
  const email = `web-client-${Date.now()}-${process.pid}@example.com`;
  const created = await upsert(email, 'Ada Lovelace');
  step('mutation', created);

  const { contact, events } = await crm.execute(ContactWithHistory, { id: created.contact.id, subject: created.contact.id });
  step('query', { contact, events: events.edges.map((e) => e.node.type) });
  const from = events.edges.at(-1)?.cursor;
  if (!contact || !from) throw new Error('the new contact or its contact.created event is missing');

  // From the cursor of the contact's newest event the server replays what
  // came after it, then continues live: the renaming below cannot be
  // missed, however soon it commits after subscribe.
  const live = crm.subscribe(ContactEvents, { after: from });
  const arrived = (async () => {
    for await (const { events: ev } of live) {
      if (ev.subjectId === contact.id) return ev;
    }
    throw new Error('the subscription ended');
  })();
  const renamed = await upsert(email, 'Ada King');
  step('mutation', renamed);
  const event = await Promise.race([
    arrived,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event within 15 s')), eventTimeoutMs).unref()),
  ]);
  step('subscription', { type: event.type, subjectId: event.subjectId, cursor: event.cursor });
  step('done', { documentTextsSent: crm.textsSent });
}

main()
  .then(() => crm.close())
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    await crm.close();
    process.exit(1);
  });
