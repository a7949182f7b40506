// graphql-codegen reads crmhub's schema straight from the repository and
// the operations written with graphql() in src/, and writes src/gql/: the
// typed documents (each carrying the SHA-256 of its text) and
// persisted-documents.json, the manifest the server takes as its
// allow-list (CRMHUB_PERSISTED_QUERIES). Nothing it writes is committed:
// `npm run codegen` (and so `npm run check` and `npm start`) makes it.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // CRMHUB_SCHEMA lets a test point codegen at another schema.
  schema: process.env.CRMHUB_SCHEMA ?? '../../schema.graphqls',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  // Imports with .js, as Node's ES modules (tsconfig: NodeNext) need them.
  emitLegacyCommonJSImports: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        // The hash is what the automatic persisted queries extension and
        // the allow-list both expect: SHA-256 of the document's text.
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' },
      },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: {
          ID: 'string',
          Time: 'string',
          JSON: 'Record<string, unknown>',
        },
      },
    },
  },
};

export default config;
