// node audit.mjs URL TOKEN — graphql-http's reference audit of the
// GraphQL-over-HTTP spec against URL (e.g. http://127.0.0.1:8080/graphql),
// sending TOKEN as a bearer token like the SPA does. Prints one JSON line
// with the counts per requirement level and status, and every item that is
// not ok; exits 1 unless every MUST and SHOULD item is ok.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs URL [TOKEN]');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn });
const counts = {};
const failed = [];
for (const r of results) {
  const level = r.name.split(' ')[0];
  counts[level] ??= { ok: 0, notice: 0, warn: 0, error: 0 };
  counts[level][r.status]++;
  if (r.status !== 'ok') {
    let body = '';
    try { body = await r.response.text(); } catch { /* already read */ }
    failed.push({ level, status: r.status, name: r.name, reason: r.reason, status_code: r.response?.status, body: body.slice(0, 300) });
  }
}
const mustOrShouldFailed = failed.filter((f) => f.level === 'MUST' || f.level === 'SHOULD');
console.log(JSON.stringify({ total: results.length, counts, failed }));
process.exit(mustOrShouldFailed.length === 0 ? 0 : 1);
