// PostGraphile 5 serving crmhub's tables for bench.BenchmarkPointRead
// (issue 7). The benchmark starts it with:
//
//   PGL_PORT           the port to listen on (127.0.0.1 only)
//   PGL_DATABASE_URL   the benchmark's database, as its owner
//
// Row-level security applies as it does for crmhub: every request runs in a
// transaction that first sets `role` to crmhub_app (the service role, which
// the FORCEd policies bind) and `app.workspace_id` to the X-Workspace-Id
// header. PostGraphile does NOT check crmhub API keys: whoever names a
// workspace reads it. It therefore does less work per request than crmhub
// (and the floor), which both verify the key against api_keys.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { pgSmartTags } from "postgraphile/utils";
import { extendSchema, gql } from "postgraphile/utils";
import { context, lambda, listen } from "postgraphile/grafast";
import { jsonParse } from "postgraphile/@dataplan/json";

const port = Number(process.env.PGL_PORT);
const connectionString = process.env.PGL_DATABASE_URL;
if (!port || !connectionString) {
  throw new Error("graphile.config.mjs: set PGL_PORT and PGL_DATABASE_URL");
}

// Only the tables the benchmarks read are exposed (the point read's
// contacts and identities; the nested page's deals, their contacts, users,
// conversations and messages); everything else in `public` (other tables,
// functions) is hidden with `@behavior -*`, and these are read-only.
const tables = new Set(["contacts", "contact_identities", "deals", "deal_contacts", "users", "conversations", "messages"]);
const onlyPointReadTables = pgSmartTags([
  {
    kind: "class",
    match: (c) => !tables.has(c.relname),
    tags: { behavior: "-*" },
  },
  // Read-only: no mutations on these tables either.
  {
    kind: "class",
    match: (c) => tables.has(c.relname),
    tags: { behavior: "-insert -update -delete" },
  },
  { kind: "procedure", match: () => true, tags: { behavior: "-*" } },
  // crmhub lists identities by (created_at, type, value); PostGraphile
  // offers orderBy only on indexed columns unless told otherwise.
  {
    kind: "attribute",
    match: (a) => a.attname === "created_at" && a.getClass()?.relname === "contact_identities",
    tags: { behavior: "+orderBy" },
  },
]);

// The benchmark kills this server's process group when it ends; should the
// benchmark die first (a timeout, ^C), exit once we are orphaned.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// contactChanged(id) for the subscriptions workload
// (bench/workloads/subscriptions.go), over websockets (graphql-transport-ws):
// it listens on the contact's NOTIFY channel "bench_contact:<id>", which a
// trigger on contacts fills with the changed contact; the workload creates
// that trigger only while it measures PostGraphile.
const contactChangedSubscription = extendSchema({
  typeDefs: gql`
    type BenchContactChangedEvent {
      type: String!
      subjectId: String!
      payload: JSON!
    }
    extend type Subscription {
      contactChanged(id: UUID!): BenchContactChangedEvent!
    }
  `,
  objects: {
    Subscription: {
      plans: {
        contactChanged: {
          subscribePlan(_$root, fieldArgs) {
            const $topic = lambda(fieldArgs.getRaw("id"), (id) => `bench_contact:${id}`);
            return listen(context().get("pgSubscriber"), $topic, jsonParse);
          },
          plan($event) {
            return $event;
          },
        },
      },
    },
    BenchContactChangedEvent: {
      plans: {
        type: ($e) => $e.get("type"),
        subjectId: ($e) => $e.get("subjectId"),
        payload: ($e) => $e.get("payload"),
      },
    },
  },
});

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [onlyPointReadTables, contactChangedSubscription],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public"],
      // crmhub's pool in the benchmark has 16 connections too.
      poolConfig: { max: 16 },
    }),
  ],
  grafserv: {
    port,
    host: "127.0.0.1",
    graphiql: false,
    watch: false,
    websockets: true,
  },
  grafast: {
    explain: false,
    context(requestContext) {
      const ws = requestContext.node?.req?.headers["x-workspace-id"];
      return {
        pgSettings: {
          role: "crmhub_app",
          // An absent or malformed header selects no workspace: the
          // policies then match no row.
          "app.workspace_id": typeof ws === "string" && uuidPattern.test(ws) ? ws : "",
        },
      };
    },
  },
};

export default preset;
