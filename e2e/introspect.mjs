// node introspect.mjs URL — what the SPA's codegen and GraphiQL do: send
// graphql-js's standard introspection query (getIntrospectionQuery, 15
// levels deep) without a token, build a client schema from the answer and
// print one JSON line with the number of types; exits 1 when the schema
// cannot be loaded.
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node introspect.mjs URL');
  process.exit(2);
}
const res = await fetch(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
  body: JSON.stringify({ query: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }) }),
});
const body = await res.json();
if (!body.data) {
  console.log(JSON.stringify({ status: res.status, errors: body.errors }));
  process.exit(1);
}
const schema = buildClientSchema(body.data);
const types = Object.keys(schema.getTypeMap());
console.log(JSON.stringify({ status: res.status, types: types.length, userTypes: types.filter((t) => !t.startsWith('__')).length,
  queries: Object.keys(schema.getQueryType().getFields()).length, mutations: Object.keys(schema.getMutationType().getFields()).length,
  sdlBytes: printSchema(schema).length }));
