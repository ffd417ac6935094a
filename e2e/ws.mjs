// node ws.mjs URL OWNER_TOKEN SERVICE_TOKEN — the reference graphql-ws
// client against URL (ws://…/graphql), as the SPA uses it:
//   1. subscribe to balanceUpdated with the owner token and receive the
//      first balance; then print {"ready":true} and wait for one line on
//      stdin ("changed"), after which an update must arrive;
//   2. an unknown token ends with close code 4401, reported as an error,
//      after exactly one connection attempt (no reconnect loop);
//   3. a service token (a role that may not read) ends with 4403 after
//      at most 1 + retryAttempts attempts;
// Prints one JSON line with what happened; exits 1 if any step failed.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import readline from 'node:readline';

const [url, owner, service] = process.argv.slice(2);
const out = { ready: false };
const fail = (why) => {
  out.failed = why;
  console.log(JSON.stringify(out));
  process.exit(1);
};
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));

// counting wraps ws so connection attempts can be counted.
function counting() {
  const state = { attempts: 0 };
  state.impl = class extends WebSocket {
    constructor(...args) {
      super(...args);
      state.attempts++;
    }
  };
  return state;
}

// badToken subscribes with token and returns how the client ended.
async function badToken(token, retryAttempts) {
  const c = counting();
  const client = createClient({
    url,
    webSocketImpl: c.impl,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts,
    retryWait: async () => new Promise((r) => setTimeout(r, 200)),
    shouldRetry: () => true, // the library's own fatal codes still stop it
  });
  try {
    const result = await Promise.race([
      new Promise((resolve) => {
        client.subscribe({ query: 'subscription { balanceUpdated { amount } }' }, {
          next: () => resolve({ outcome: 'data' }),
          error: (err) => resolve({ outcome: 'error', code: err?.code, reason: err?.reason }),
          complete: () => resolve({ outcome: 'complete' }),
        });
      }),
      timeout(20000, 'bad token'),
    ]);
    return { ...result, attempts: c.attempts };
  } finally {
    await client.dispose();
  }
}

try {
  // 1. A subscription with a good token.
  const c = counting();
  const client = createClient({ url, webSocketImpl: c.impl, connectionParams: { Authorization: `Bearer ${owner}` } });
  const balances = [];
  let onBalance = () => {};
  const done = new Promise((resolve, reject) => {
    client.subscribe({ query: 'subscription { balanceUpdated { amount blocked } }' }, {
      next: (msg) => {
        if (msg.errors) return reject(new Error(JSON.stringify(msg.errors)));
        balances.push(msg.data.balanceUpdated.amount);
        onBalance();
      },
      error: (err) => reject(err instanceof Error ? err : new Error(`closed ${err?.code} ${err?.reason}`)),
      complete: resolve,
    });
  });
  done.catch((err) => fail(`subscription: ${err.message}`));
  await Promise.race([new Promise((r) => { onBalance = r; }), timeout(10000, 'first balance')]);
  out.first = balances[0];
  out.ready = true;
  console.log(JSON.stringify({ ready: true, first: out.first }));
  const lines = readline.createInterface({ input: process.stdin });
  await Promise.race([new Promise((r) => lines.once('line', r)), timeout(30000, 'the test to change the balance')]);
  lines.close();
  await Promise.race([new Promise((r) => { onBalance = r; }), timeout(10000, 'the update')]);
  out.update = balances[balances.length - 1];
  out.attempts = c.attempts;
  await client.dispose();

  // 2. and 3. Bad tokens.
  out.unknown = await badToken('cr_unknown_token_for_the_e2e_test', 5);
  out.service = await badToken(service, 2);
} catch (err) {
  fail(err.message);
}
const ok = out.unknown.outcome === 'error' && out.unknown.code === 4401 && out.unknown.attempts === 1 &&
  out.service.outcome === 'error' && out.service.code === 4403 && out.service.attempts <= 3 && out.attempts === 1;
if (!ok) fail('bad tokens did not end as expected');
console.log(JSON.stringify(out));
process.exit(0);
