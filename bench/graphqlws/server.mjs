// The reference graphql-ws server (graphql-ws 6 on ws and graphql-js 16),
// a subscriptions peer of crmhub for bench/workloads/subscriptions.go
// (issue 18). It serves one subscription over graphql-transport-ws,
//
//   contactChanged(id: ID!): ContactChangedEvent!  { type subjectId payload }
//
// fed by PostgreSQL: a trigger on contacts (the workload creates it only
// while it measures this server) NOTIFYs every changed contact on ONE
// channel, and this process LISTENs on that channel with ONE connection
// and routes each notification by the contact's id through a Map to its
// subscribers. That is the whole difference from PostGraphile's
// PgSubscriber, which LISTENs on one channel per contact and re-syncs all
// of them on every subscribe, and starves at 10,000 topics.
//
// The benchmark starts it with:
//
//   GQLWS_PORT          the port to listen on (127.0.0.1 only)
//   GQLWS_DATABASE_URL  the benchmark's database
//   GQLWS_CHANNEL       the NOTIFY channel (default bench_contacts)
//
// Like PostGraphile here, it checks no API key: connection_init is
// accepted whatever it carries. GET /healthz answers 200 once the LISTEN
// is in place.
import http from "node:http";
import pg from "pg";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { GraphQLID, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLSchema, GraphQLString, GraphQLBoolean } from "graphql";

const port = Number(process.env.GQLWS_PORT);
const connectionString = process.env.GQLWS_DATABASE_URL;
const channel = process.env.GQLWS_CHANNEL || "bench_contacts";
if (!port || !connectionString) {
  throw new Error("server.mjs: set GQLWS_PORT and GQLWS_DATABASE_URL");
}
if (!/^[a-z_][a-z0-9_]*$/.test(channel)) {
  throw new Error(`server.mjs: bad channel name ${channel}`);
}

// The benchmark kills this server's process group when it ends; should the
// benchmark die first (a timeout, ^C), exit once we are orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

// maxQueued bounds the events waiting for one slow subscriber; past it the
// subscription ends with an error rather than holding memory without bound
// (crmhub does the same with its hub's buffer).
const maxQueued = 1024;

// subscribers maps a contact's id (as the event's subjectId names it) to
// the queues of its subscriptions.
const subscribers = new Map();

// subscription is one live contactChanged: an async iterator over the
// events routed to it.
function subscription(id) {
  const queue = [];
  let waiting = null; // the resolve of a pending next()
  let done = false;
  let failure = null;
  const entry = {
    push(event) {
      if (done) return;
      if (waiting) {
        const w = waiting;
        waiting = null;
        w({ value: event, done: false });
        return;
      }
      if (queue.length >= maxQueued) {
        failure = new Error("subscriber too slow: events dropped");
        stop();
        return;
      }
      queue.push(event);
    },
  };
  function stop() {
    if (done) return;
    done = true;
    const set = subscribers.get(id);
    if (set) {
      set.delete(entry);
      if (set.size === 0) subscribers.delete(id);
    }
    if (waiting) {
      const w = waiting;
      waiting = null;
      w({ value: undefined, done: true });
    }
  }
  let set = subscribers.get(id);
  if (!set) subscribers.set(id, (set = new Set()));
  set.add(entry);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
      if (failure) {
        const err = failure;
        failure = null;
        return Promise.reject(err);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err) {
      stop();
      return Promise.reject(err);
    },
  };
}

const JSONScalar = new GraphQLScalarType({
  name: "JSON",
  serialize: (v) => v,
  parseValue: (v) => v,
});

const ContactChangedEvent = new GraphQLObjectType({
  name: "ContactChangedEvent",
  fields: {
    type: { type: new GraphQLNonNull(GraphQLString) },
    subjectId: { type: new GraphQLNonNull(GraphQLString) },
    payload: { type: new GraphQLNonNull(JSONScalar) },
  },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: { ok: { type: GraphQLBoolean, resolve: () => true } },
  }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      contactChanged: {
        type: new GraphQLNonNull(ContactChangedEvent),
        args: { id: { type: new GraphQLNonNull(GraphQLID) } },
        subscribe: (_root, { id }) => subscription(id),
        resolve: (event) => event,
      },
    },
  }),
});

// The one LISTEN connection. A lost connection ends the process: the
// benchmark then sees the socket closes and reports them.
const listener = new pg.Client({ connectionString });
listener.on("error", (err) => {
  console.error("listen connection failed:", err);
  process.exit(1);
});
listener.on("notification", (n) => {
  if (n.channel !== channel || !n.payload) return;
  let event;
  try {
    event = JSON.parse(n.payload);
  } catch {
    return;
  }
  const set = subscribers.get(event.subjectId);
  if (!set) return;
  for (const entry of set) entry.push(event);
});

let listening = false;
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(listening ? 200 : 503, { "content-type": "text/plain" });
    res.end(listening ? "ok" : "not listening");
    return;
  }
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ server, path: "/graphql" });
useServer({ schema }, wss);

await listener.connect();
await listener.query(`LISTEN ${channel}`);
listening = true;
server.listen(port, "127.0.0.1");
