// The page's only way to the credits API: GraphQL over HTTP for queries
// and mutations, GraphQL over WebSocket (graphql-transport-ws, the
// vendored graphql-ws client) for balanceUpdated, and the sandbox's 3-D
// Secure step. Every request carries the bearer token in a header (or,
// on the socket, in connection_init), never in a cookie.

import { createClient } from "./vendor/graphql-ws/client.js";

// APIError is a GraphQL error as the API presents it: a message fit to
// show, extensions.code (BAD_USER_INPUT, PAYMENT_FAILED, ...) and, for
// bad input, the field it is about (e.g. "billing.taxId.value").
export class APIError extends Error {
  constructor(message, code, field) {
    super(message);
    this.code = code ?? "INTERNAL";
    this.field = field ?? "";
  }
}

export class API {
  // base is the API's origin, e.g. http://localhost:8080 (not this page's).
  constructor(base, token) {
    this.base = base.replace(/\/+$/, "");
    this.token = token;
    this.socket = null;
  }

  // gql runs one operation and returns its data, or throws the first
  // error as an APIError.
  async gql(query, variables = {}) {
    let resp;
    try {
      resp = await fetch(`${this.base}/graphql`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/graphql-response+json, application/json",
          Authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      // A CORS refusal looks exactly like a network failure to a page.
      throw new APIError(`cannot reach ${this.base} (is it running, and is this page's origin in CORS_ALLOWED_ORIGINS?)`, "NETWORK");
    }
    let body;
    try {
      body = await resp.json();
    } catch {
      throw new APIError(`${this.base} answered ${resp.status} without a GraphQL body`, resp.status === 429 ? "RATE_LIMITED" : "INTERNAL");
    }
    if (body.errors?.length) {
      const e = body.errors[0];
      throw new APIError(e.message, e.extensions?.code, e.extensions?.field);
    }
    return body.data;
  }

  // subscribeBalance calls onBalance with every balanceUpdated (the first
  // is the current balance) and onState with "connecting", "live",
  // "reconnecting" or, when the server refused the token (close code 4401
  // or 4403, after which graphql-ws does not retry), "refused".
  subscribeBalance(fields, onBalance, onState) {
    const url = `${this.base.replace(/^http/, "ws")}/graphql`;
    let refused = false;
    this.socket = createClient({
      url,
      lazy: false,
      retryAttempts: Infinity,
      connectionParams: { Authorization: `Bearer ${this.token}` },
      shouldRetry: (event) => !(event && (event.code === 4401 || event.code === 4403)),
      on: {
        connecting: () => onState(refused ? "refused" : "connecting"),
        connected: () => onState("live"),
        closed: (event) => {
          if (event?.code === 4401 || event?.code === 4403) {
            refused = true;
            onState("refused");
          } else {
            onState("reconnecting");
          }
        },
      },
      onNonLazyError: () => {},
    });
    return this.socket.subscribe(
      { query: `subscription { balanceUpdated { ${fields} } }` },
      {
        next: (msg) => msg.data?.balanceUpdated && onBalance(msg.data.balanceUpdated),
        error: () => onState(refused ? "refused" : "reconnecting"),
        complete: () => {},
      },
    );
  }

  close() {
    this.socket?.dispose();
    this.socket = null;
  }

  // authenticate plays the customer's bank in the sandbox: it completes
  // (or, with fail, fails) 3-D Secure for a PaymentIntent. Stripe.js's
  // handleNextAction does this step against real Stripe.
  async authenticate(intentID, fail = false) {
    const url = `${this.base}/sandbox/payment_intents/${encodeURIComponent(intentID)}/authenticate${fail ? "?result=fail" : ""}`;
    let resp;
    try {
      resp = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${this.token}` } });
    } catch {
      throw new APIError(`cannot reach ${this.base} for the sandbox's authentication step`, "NETWORK");
    }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      // The REST routes answer {"code": "not_found", "error": "..."}.
      throw new APIError(body.error ?? `authentication answered ${resp.status}`, String(body.code ?? "").toUpperCase());
    }
    return body.status;
  }
}

// intentFromClientSecret returns the PaymentIntent id of a client secret
// ("pi_123_secret_abc" → "pi_123"), as Stripe.js reads it.
export function intentFromClientSecret(secret) {
  const i = String(secret ?? "").indexOf("_secret_");
  return i > 0 ? secret.slice(0, i) : "";
}
