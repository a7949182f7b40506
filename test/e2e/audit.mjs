// The GraphQL-over-HTTP audit: graphql-http's auditServer (the suite of
// the spec's reference implementation) run against crmhub. Every audit
// must pass: a failed MUST is an error and a failed SHOULD a warning, and
// either fails the run. The Go test beside this file starts the server and
// passes CRMHUB_HTTP (http://host:port/graphql) and CRMHUB_KEY.
import { auditServer } from 'graphql-http';

const url = process.env.CRMHUB_HTTP;
const key = process.env.CRMHUB_KEY;

// withKey sends every audit request with the API key: without it each
// would stop at 401 before the behaviour under audit.
function withKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: withKey });
let bad = 0;
for (const r of results) {
  if (r.status === 'ok') continue;
  bad++;
  console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
}
console.log(`graphql-http audit: ${results.length} audits, ${results.length - bad} ok, ${bad} not ok`);
process.exit(bad === 0 ? 0 : 1);
