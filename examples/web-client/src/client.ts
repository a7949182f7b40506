// A small typed crmhub client: queries and mutations over HTTP as
// persisted queries, subscriptions over graphql-ws. The documents come
// from codegen (src/gql), so what goes in and what comes back is typed.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { TypedDocumentString } from './gql/graphql.js';
import manifest from './gql/persisted-documents.json' with { type: 'json' };

/** Options of a client. */
export interface Options {
  /** The GraphQL endpoint, e.g. http://localhost:8080/graphql. */
  url: string;
  /** An API key (crm_...); sent as Authorization: Bearer <key>. */
  apiKey: string;
  /**
   * Never send a document's text over HTTP, only its hash: what a server
   * with an allow-list (CRMHUB_PERSISTED_QUERIES) expects. Without it a
   * hash the server does not know yet is answered by sending the text once
   * (automatic persisted queries).
   */
  persistedOnly?: boolean;
}

/** One GraphQL error as crmhub sends it. */
export interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

/** The errors of an answer, with the first one's code at hand. */
export class CrmhubError extends Error {
  readonly code: string | undefined;
  constructor(readonly errors: GraphQLError[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
    this.code = errors[0]?.extensions?.code;
  }
}

type Doc<R, V> = TypedDocumentString<R, V>;

const documents: Record<string, string> = manifest;

/**
 * persisted returns the hash codegen gave a document (bare hex, as the
 * persistedQuery extension wants it) and the text that hash was made of:
 * codegen prints each document in a normal form, so the text to send is
 * the manifest's, not the source's.
 */
function persisted(doc: { __meta__?: Record<string, unknown> }): { hash: string; text: string } {
  const id = doc.__meta__?.hash as string | undefined;
  const text = id === undefined ? undefined : documents[id];
  if (id === undefined || text === undefined) {
    throw new Error('the document has no persisted hash: run npm run codegen');
  }
  return { hash: id.replace(/^sha256:/, ''), text };
}

/** Client runs crmhub operations. */
export class Crmhub {
  /** How many times a document's text went over HTTP (APQ registrations). */
  textsSent = 0;
  private ws: Client | undefined;

  constructor(private readonly opts: Options) {}

  /**
   * execute runs a query or mutation by hash; a server that does not know
   * the hash yet answers PERSISTED_QUERY_NOT_FOUND, and the document's
   * text goes along once (unless persistedOnly).
   */
  async execute<R, V>(doc: Doc<R, V>, variables: V): Promise<R> {
    const { hash, text } = persisted(doc);
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    let answer = await this.post({ variables, extensions });
    if (answer.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND' && !this.opts.persistedOnly) {
      this.textsSent++;
      answer = await this.post({ query: text, variables, extensions });
    }
    if (answer.errors?.length) throw new CrmhubError(answer.errors);
    if (answer.data == null) throw new Error('an answer without data or errors');
    return answer.data as R;
  }

  private async post(body: object): Promise<{ data?: unknown; errors?: GraphQLError[] }> {
    const res = await fetch(this.opts.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/graphql-response+json, application/json',
        Authorization: `Bearer ${this.opts.apiKey}`,
      },
      body: JSON.stringify(body),
    });
    const type = res.headers.get('Content-Type') ?? '';
    if (!type.includes('json')) throw new Error(`HTTP ${res.status} ${type}`);
    return (await res.json()) as { data?: unknown; errors?: GraphQLError[] };
  }

  /**
   * subscribe runs a subscription over graphql-ws and yields its results.
   * The socket opens with the first subscription and carries the key in
   * connection_init. The document goes with its hash, so a server with an
   * allow-list recognises it.
   */
  async *subscribe<R, V extends Record<string, unknown>>(doc: Doc<R, V>, variables: V): AsyncGenerator<R> {
    const { hash, text } = persisted(doc);
    this.ws ??= createClient({
      url: this.opts.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${this.opts.apiKey}` },
      retryAttempts: 0,
    });
    const results = this.ws.iterate({
      query: text,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    });
    for await (const r of results) {
      if (r.errors?.length) throw new CrmhubError(r.errors as GraphQLError[]);
      yield r.data as R;
    }
  }

  /** close ends the websocket, if one is open. */
  async close(): Promise<void> {
    await this.ws?.dispose();
  }
}
