// The reference Credits page: what the product's Credits page does,
// against the credits API only. Each part of the page is a render
// function over `state`; each user action is one API call followed by a
// reload of what it changed. No framework, no build step.

import { API, APIError, intentFromClientSecret } from "./api.js";
import { centsToDecimal, decimalToCents, exactUSD, formatUSD, parseDecimal, parseUserAmount } from "./money.js";

const $ = (id) => document.getElementById(id);

// el builds an element; strings become text nodes, so nothing the API
// returns (names, failure reasons) is ever parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Stripe's test PaymentMethods, which the sandbox provider (and Stripe's
// test mode) accept where a live page would send a PaymentMethod id from
// Stripe Elements.
const TEST_CARDS = [
  ["pm_card_visa", "Visa 4242 (succeeds)"],
  ["pm_card_mastercard", "Mastercard 4444 (succeeds)"],
  ["pm_card_chargeDeclined", "Visa 0002 (declined)"],
  ["pm_card_insufficientFunds", "Visa 9995 (insufficient funds)"],
  ["pm_card_authenticationRequired", "Visa 3184 (needs 3-D Secure)"],
];

// Countries offered for the billing address (ISO 3166-1 alpha-2); names
// come from the browser (Intl.DisplayNames).
const COUNTRIES = ["AT", "AU", "BE", "BR", "CA", "CH", "CZ", "DE", "DK", "ES", "FI", "FR", "GB", "IE", "IN",
  "IT", "JP", "NL", "NO", "NZ", "PL", "PT", "SE", "SG", "US"];
const countryName = (() => {
  const names = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
  return (code) => names?.of(code) ?? code;
})();

const TYPE_LABEL = { PURCHASE: "Purchase", AUTO_TOP_UP: "Auto Top-up" };
const STATUS_LABEL = {
  PENDING: "Pending", REQUIRES_ACTION: "Requires action", SUCCEEDED: "Succeeded", FAILED: "Failed",
  REFUNDED: "Refunded", PARTIALLY_REFUNDED: "Partially refunded",
};
const PAGE_SIZE = 20;
// Signed invoice links work for 15 minutes; the history is re-read well
// before that so a Download Invoice link on screen never answers 404.
const LINK_REFRESH_MS = 10 * 60 * 1000;
const AUTO_TOP_UP_POLL_MS = 2000;
const NOTICE_MS = 15_000;

const BALANCE = "amount available held currency blocked updatedAt";
const CARD = "id brand last4 expMonth expYear isDefault";
const AUTO_TOP_UP = "enabled threshold amount status lastError paymentMethod { id brand last4 }";
const PAGE_QUERY = `query CreditsPage {
  purchaseSettings { currency minimum maximum stripePublishableKey }
  balance { ${BALANCE} }
  paymentMethods { ${CARD} }
  autoTopUp { ${AUTO_TOP_UP} }
  billingProfile { name address { line1 line2 city postalCode state country } taxId { country type value } }
}`;
const HISTORY_QUERY = `query History($types: [TransactionType!], $first: Int, $after: String) {
  transactions(filter: { types: $types }, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id type status amount currency createdAt failureReason cardBrand cardLast4
      invoice { id number signedDownloadUrl } } }
  }
}`;

const state = {
  api: null,
  unsubscribe: null,
  settings: null,
  balance: null,
  cards: [],
  autoTopUp: null,
  profile: null,
  taxTypes: [],
  filter: "ALL",
  history: { rows: [], totalCount: 0, hasNextPage: false, endCursor: null },
  historySeq: 0, // the latest history read; older answers are dropped
  refreshTimer: 0,
  linkTimer: 0,
  autoTopUpTimer: 0,
  noticeTimer: 0,
  purchase: null, // the open Add Credits dialog: { key, intentID, amount }
};

// ---------- connecting ----------

function readConnection() {
  const params = new URLSearchParams(location.search);
  const api = params.get("api") || sessionStorage.getItem("credits.api") || "http://localhost:8080";
  const token = params.get("token") || sessionStorage.getItem("credits.token") || "";
  if (params.has("token")) {
    // Keep the token out of the address bar, history and screenshots.
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  return { api, token };
}

async function connect(base, token) {
  state.unsubscribe?.();
  state.api?.close();
  sessionStorage.setItem("credits.api", base);
  sessionStorage.setItem("credits.token", token);
  state.api = new API(base, token);
  state.balance = null; // another token may be another workspace
  setLive("connecting");
  notice("");
  try {
    await loadPage();
    await loadHistory();
  } catch (err) {
    $("page").dataset.state = "error";
    setLive("offline");
    notice(err.code === "UNAUTHENTICATED" ? "The API refused this token." : err.message, "error");
    return;
  }
  $("page").dataset.state = "ready";
  state.unsubscribe = state.api.subscribeBalance(BALANCE, onBalance, setLive);
  clearInterval(state.linkTimer);
  state.linkTimer = setInterval(() => loadHistory({ keep: true }).catch(() => {}), LINK_REFRESH_MS);
}

function setLive(s) {
  const live = $("live");
  live.dataset.state = s;
  live.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", refused: "token refused", offline: "offline" }[s] ?? s;
}

function notice(text, kind = "info") {
  const n = $("notice");
  n.textContent = text;
  n.dataset.kind = kind;
  n.hidden = !text;
  clearTimeout(state.noticeTimer);
  if (text && kind === "success") state.noticeTimer = setTimeout(() => notice(""), NOTICE_MS);
}

// ---------- loading ----------

async function loadPage() {
  const data = await state.api.gql(PAGE_QUERY);
  state.settings = data.purchaseSettings;
  state.cards = data.paymentMethods;
  state.autoTopUp = data.autoTopUp;
  state.profile = data.billingProfile;
  renderBalance(data.balance);
  renderCards();
  renderAutoTopUp({ form: true });
  for (const id of ["add-credits-open", "add-card-button", "atu-save"]) $(id).disabled = false;
}

async function loadCards() {
  const data = await state.api.gql(`{ paymentMethods { ${CARD} } autoTopUp { ${AUTO_TOP_UP} } }`);
  state.cards = data.paymentMethods;
  state.autoTopUp = data.autoTopUp;
  renderCards();
  renderAutoTopUp({ form: false });
}

// loadHistory reads the first page for the current filter; with keep, as
// many rows as are on screen (to renew their signed links).
async function loadHistory({ keep = false } = {}) {
  const first = keep ? Math.min(100, Math.max(PAGE_SIZE, state.history.rows.length)) : PAGE_SIZE;
  const seq = ++state.historySeq;
  const data = await state.api.gql(HISTORY_QUERY, { types: state.filter === "ALL" ? null : [state.filter], first });
  if (seq !== state.historySeq) return; // a newer read (another filter, a refresh) wins
  const t = data.transactions;
  state.history = { rows: t.edges.map((e) => e.node), totalCount: t.totalCount, hasNextPage: t.pageInfo.hasNextPage, endCursor: t.pageInfo.endCursor };
  renderHistory();
}

async function loadMoreHistory() {
  const seq = state.historySeq;
  const data = await state.api.gql(HISTORY_QUERY, { types: state.filter === "ALL" ? null : [state.filter], first: PAGE_SIZE, after: state.history.endCursor });
  if (seq !== state.historySeq) return; // the list was read again meanwhile
  const t = data.transactions;
  state.history.rows.push(...t.edges.map((e) => e.node));
  Object.assign(state.history, { totalCount: t.totalCount, hasNextPage: t.pageInfo.hasNextPage, endCursor: t.pageInfo.endCursor });
  renderHistory();
}

// onBalance takes every balanceUpdated. A change of the amount means a
// purchase, an auto top-up or usage landed: the history and the auto
// top-up status are re-read (once for a burst).
function onBalance(b) {
  const before = state.balance?.amount;
  renderBalance(b);
  if (before !== undefined && before !== b.amount) {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => {
      loadHistory({ keep: true }).catch(() => {});
      loadCards().catch(() => {});
    }, 250);
  }
}

// ---------- balance ----------

function renderBalance(b) {
  // Updates can cross: never go back to an older balance.
  if (state.balance && Date.parse(b.updatedAt) < Date.parse(state.balance.updatedAt)) return;
  state.balance = b;
  const amount = $("balance-amount");
  amount.textContent = formatUSD(b.available);
  amount.title = exactUSD(b.available, b.currency);
  amount.dataset.amount = b.amount;
  const held = $("balance-held");
  held.hidden = parseDecimal(b.held) === 0n;
  held.textContent = `${formatUSD(b.amount)} balance, ${formatUSD(b.held)} reserved by calls in flight`;
  $("blocked-banner").hidden = !b.blocked;
}

// ---------- payment methods ----------

const cardName = (c) => `${c.brand.charAt(0).toUpperCase()}${c.brand.slice(1)} •••• ${c.last4}`;

function renderCards() {
  const list = $("card-list");
  list.replaceChildren(...state.cards.map((c) => {
    const remove = el("button", { type: "button", class: "link danger", dataset: { action: "remove", card: c.id } }, "Remove");
    remove.addEventListener("click", () => {
      // Two clicks: the first asks, the second removes.
      if (remove.dataset.confirm !== "yes") {
        remove.dataset.confirm = "yes";
        remove.textContent = "Confirm remove";
        return;
      }
      cardAction(() => state.api.gql(`mutation($id: ID!) { removePaymentMethod(id: $id) }`, { id: c.id }));
    });
    return el("li", { class: "pm", dataset: { card: c.id, last4: c.last4, default: String(c.isDefault) } },
      el("span", { class: "pm-name" }, cardName(c)),
      el("span", { class: "muted" }, `${String(c.expMonth).padStart(2, "0")}/${c.expYear}`),
      c.isDefault ? el("span", { class: "badge" }, "Default")
        : el("button", { type: "button", class: "link", dataset: { action: "default", card: c.id },
          onclick: () => cardAction(() => state.api.gql(`mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id } }`, { id: c.id })) }, "Make default"),
      remove);
  }));
  $("cards-empty").hidden = state.cards.length > 0;

  // The auto top-up card select follows the saved cards.
  const select = $("atu-card");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "The default card"),
    ...state.cards.map((c) => el("option", { value: c.id }, cardName(c))));
  select.value = state.cards.some((c) => c.id === chosen) ? chosen : "";
}

async function cardAction(call) {
  $("cards-error").textContent = "";
  try {
    await call();
    await loadCards();
  } catch (err) {
    $("cards-error").textContent = err.message;
    renderCards();
  }
}

async function addCard(event) {
  event.preventDefault();
  const pm = $("add-card-pm").value;
  const makeDefault = $("add-card-default").checked;
  await cardAction(() => state.api.gql(`mutation($pm: String!, $d: Boolean) { addPaymentMethod(paymentMethodId: $pm, makeDefault: $d) { id } }`,
    { pm, d: makeDefault }));
  $("add-card-default").checked = false;
}

// ---------- auto top-up ----------

function renderAutoTopUp({ form }) {
  const a = state.autoTopUp;
  const status = $("atu-status");
  status.textContent = a.status;
  status.dataset.status = a.status;
  const lastError = $("atu-last-error");
  lastError.hidden = !a.lastError && a.status !== "PAUSED";
  lastError.textContent = a.status === "PAUSED"
    ? `Paused after repeated failures${a.lastError ? `: ${a.lastError}` : ""}. Save the settings (or buy credits) to resume.`
    : `Last attempt failed: ${a.lastError ?? ""}`;
  // Nothing pushes auto top-up's progress (only the balance is pushed):
  // while a top-up is under way, re-read it until it lands, fails or pauses.
  clearTimeout(state.autoTopUpTimer);
  if (a.status === "PROCESSING") state.autoTopUpTimer = setTimeout(() => loadCards().catch(() => {}), AUTO_TOP_UP_POLL_MS);
  if (form) {
    // Only on load and after a save: never overwrite what the user is typing.
    $("atu-enabled").checked = a.enabled;
    $("atu-threshold").value = a.threshold ?? "";
    $("atu-amount").value = a.amount ?? "";
    $("atu-card").value = a.paymentMethod?.id ?? "";
  }
}

async function saveAutoTopUp(event) {
  event.preventDefault();
  const msg = $("atu-message");
  msg.textContent = "";
  const threshold = parseUserAmount($("atu-threshold").value);
  const amount = parseUserAmount($("atu-amount").value);
  if (threshold === null) return void (msg.textContent = "Enter the threshold in dollars, e.g. 50.00.");
  const limits = purchaseLimits();
  if (amount === null || amount < limits.min || amount > limits.max) {
    return void (msg.textContent = `Enter an amount between ${formatUSD(centsToDecimal(limits.min))} and ${formatUSD(centsToDecimal(limits.max))}.`);
  }
  const input = {
    enabled: $("atu-enabled").checked,
    threshold: centsToDecimal(threshold),
    amount: centsToDecimal(amount),
    paymentMethodId: $("atu-card").value || null,
  };
  try {
    const data = await state.api.gql(`mutation($input: SetAutoTopUpInput!) { setAutoTopUp(input: $input) { ${AUTO_TOP_UP} } }`, { input });
    state.autoTopUp = data.setAutoTopUp;
    renderAutoTopUp({ form: true });
    msg.textContent = "";
    $("atu-form").dataset.saved = String(Date.now());
  } catch (err) {
    msg.textContent = err.code === "PAYMENT_METHOD_REQUIRED" ? "Add a card first: auto top-up charges a saved card." : err.message;
  }
}

// ---------- history ----------

function renderHistory() {
  const { rows, totalCount, hasNextPage } = state.history;
  const date = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  $("history-rows").replaceChildren(...rows.map((t) => {
    const at = new Date(t.createdAt);
    const status = el("span", { class: "status", dataset: { status: t.status }, title: t.failureReason ?? undefined }, STATUS_LABEL[t.status] ?? t.status);
    return el("tr", { dataset: { id: t.id, type: t.type, status: t.status, amount: t.amount } },
      el("td", {}, date.format(at)),
      el("td", {}, time.format(at)),
      el("td", {}, TYPE_LABEL[t.type] ?? t.type),
      el("td", { class: "num", title: exactUSD(t.amount, t.currency) }, formatUSD(t.amount)),
      el("td", {}, status, t.failureReason ? el("div", { class: "muted small" }, t.failureReason) : null),
      el("td", {}, t.invoice
        // A plain link: the signed URL needs no Authorization header.
        ? el("a", { class: "download", href: t.invoice.signedDownloadUrl, target: "_blank", rel: "noopener", title: `Invoice ${t.invoice.number}` }, "Download Invoice")
        : el("span", { class: "muted" }, "—")));
  }));
  $("history-empty").hidden = rows.length > 0;
  $("history-empty").textContent = state.filter === "ALL" ? "No transactions yet." : `No ${TYPE_LABEL[state.filter].toLowerCase()} transactions.`;
  $("history-count").textContent = totalCount ? `${rows.length} of ${totalCount}` : "";
  $("history-more").hidden = !hasNextPage;
  for (const b of document.querySelectorAll("button[data-filter]")) b.setAttribute("aria-pressed", String(b.dataset.filter === state.filter));
  $("history").dataset.showing = state.filter;
}

// ---------- add credits ----------

function purchaseLimits() {
  return { min: decimalToCents(state.settings.minimum) ?? 500n, max: decimalToCents(state.settings.maximum) ?? 10n ** 14n };
}

function openAddCredits() {
  const limits = purchaseLimits();
  $("ac-limits").textContent = `Minimum ${formatUSD(state.settings.minimum)}, maximum ${formatUSD(state.settings.maximum)} (${state.settings.currency}).`;
  $("ac-error").textContent = "";
  $("ac-amount").value = "";
  $("ac-confirm").textContent = "Confirm";
  $("ac-amount").placeholder = centsToDecimal(limits.min * 5n);

  // Saved cards first, the default one chosen; otherwise a new card.
  const cards = $("ac-cards");
  cards.replaceChildren(...state.cards.map((c) => el("label", { class: "check" },
    el("input", { type: "radio", name: "ac-card", value: c.id, checked: c.isDefault }), cardName(c), c.isDefault ? el("span", { class: "badge" }, "Default") : null)));
  $("ac-card-new").checked = state.cards.length === 0;

  // Billing details from the saved profile (the last purchase's).
  const p = state.profile;
  $("ac-name").value = p?.name ?? "";
  $("ac-line1").value = p?.address.line1 ?? "";
  $("ac-line2").value = p?.address.line2 ?? "";
  $("ac-city").value = p?.address.city ?? "";
  $("ac-postal").value = p?.address.postalCode ?? "";
  $("ac-state").value = p?.address.state ?? "";
  $("ac-country").value = p?.address.country ?? "";
  $("ac-tax").checked = Boolean(p?.taxId);
  if (p?.taxId) {
    $("ac-tax-country").value = p.taxId.country;
    renderTaxTypes();
    $("ac-tax-type").value = p.taxId.type;
    $("ac-tax-value").value = p.taxId.value;
  }
  $("ac-tax-fields").hidden = !$("ac-tax").checked;

  // One idempotency key per dialog: a double click or a retry after a
  // lost answer never charges twice.
  state.purchase = { key: randomKey() };
  $("add-credits").showModal();
  $("ac-amount").focus();
}

function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `page-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

function renderTaxTypes() {
  const country = $("ac-tax-country").value;
  const types = state.taxTypes.filter((t) => t.country === country);
  $("ac-tax-type").replaceChildren(...types.map((t) => el("option", { value: t.type, title: t.type }, t.label)));
  const chosen = types[0];
  $("ac-tax-value").placeholder = chosen ? `e.g. ${chosen.example}` : "";
}

// purchaseInput checks the dialog the way the server will and returns the
// mutation's input, or throws an APIError naming the field.
function purchaseInput() {
  const limits = purchaseLimits();
  const amount = parseUserAmount($("ac-amount").value);
  if (amount === null) throw new APIError("Enter an amount in dollars, at most 2 decimals, e.g. 25.00.", "BAD_USER_INPUT", "amount");
  if (amount < limits.min) throw new APIError(`The minimum is ${formatUSD(state.settings.minimum)}.`, "BAD_USER_INPUT", "amount");
  if (amount > limits.max) throw new APIError(`The maximum is ${formatUSD(state.settings.maximum)}.`, "BAD_USER_INPUT", "amount");
  const card = document.querySelector('input[name="ac-card"]:checked')?.value;
  if (!card) throw new APIError("Choose a card.", "BAD_USER_INPUT", "paymentMethodId");
  const text = (id) => $(id).value.trim();
  const required = { name: "ac-name", line1: "ac-line1", city: "ac-city", country: "ac-country" };
  for (const [field, id] of Object.entries(required)) {
    if (!text(id)) throw new APIError(`The billing ${field === "line1" ? "address" : field} is required (Stripe needs it).`, "BAD_USER_INPUT", `billing.${field}`);
  }
  const optional = (id) => text(id) || null;
  const billing = {
    name: text("ac-name"),
    address: { line1: text("ac-line1"), line2: optional("ac-line2"), city: text("ac-city"), postalCode: optional("ac-postal"),
      state: optional("ac-state"), country: text("ac-country") },
    taxId: null,
  };
  if ($("ac-tax").checked) {
    if (!text("ac-tax-value")) throw new APIError("Enter the tax ID, or untick Add a tax ID.", "BAD_USER_INPUT", "billing.taxId.value");
    billing.taxId = { country: $("ac-tax-country").value, type: $("ac-tax-type").value, value: text("ac-tax-value") };
  }
  const input = { amount: centsToDecimal(amount), billing, idempotencyKey: state.purchase.key };
  if (card === "new") input.newPaymentMethod = $("ac-new-pm").value;
  else input.paymentMethodId = card;
  return input;
}

async function confirmPurchase(event) {
  event.preventDefault();
  const error = $("ac-error");
  error.textContent = "";
  let input;
  try {
    input = purchaseInput();
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  // Confirm is disabled while the mutation runs (no double submit), not
  // while the page reloads after it: the next dialog's Confirm must work
  // however slow those are.
  const button = $("ac-confirm");
  button.disabled = true;
  try {
    const data = await state.api.gql(`mutation($input: AddCreditsInput!) { addCredits(input: $input) {
      transaction { id status amount }
      balance { ${BALANCE} }
      requiresAction clientSecret } }`, { input }).finally(() => { button.disabled = false; });
    const p = data.addCredits;
    renderBalance(p.balance);
    $("add-credits").close();
    if (p.requiresAction) {
      state.purchase.intentID = intentFromClientSecret(p.clientSecret);
      state.purchase.amount = p.transaction.amount;
      openThreeDS();
    } else {
      notice(`Added ${formatUSD(p.transaction.amount)} of credits.`, "success");
    }
    await Promise.all([loadPage(), loadHistory()]);
  } catch (err) {
    // A decline is a FAILED row in the history too.
    error.textContent = err.message; // PAYMENT_FAILED carries the issuer's reason
    if (err.code === "PAYMENT_FAILED") {
      state.purchase.key = randomKey(); // the next try is a new payment
      loadHistory().catch(() => {});
    }
  }
}

function openThreeDS() {
  $("tds-text").textContent = `Your bank asks you to confirm the payment of ${formatUSD(state.purchase.amount)}. The credits land once it is confirmed.`;
  $("tds-error").textContent = "";
  if (state.settings.stripePublishableKey) {
    $("tds-error").textContent = "This API uses Stripe: finish with Stripe.js (handleNextAction); this reference page only plays the sandbox's step.";
  }
  $("three-ds").showModal();
}

async function finishThreeDS(fail) {
  try {
    const status = await state.api.authenticate(state.purchase.intentID, fail);
    $("three-ds").close();
    notice(status === "succeeded" ? `Payment confirmed: ${formatUSD(state.purchase.amount)} added.` : "The bank refused the authentication; no credits were added.",
      status === "succeeded" ? "success" : "error");
    await Promise.all([loadHistory(), loadCards()]);
  } catch (err) {
    $("tds-error").textContent = err.message;
  }
}

// ---------- wiring ----------

async function loadTaxTypes() {
  // TODO(issue 17): read taxIdTypes(country) from the API once it is on
  // main; until then a small static list (checked against the taxid
  // package by server's TestCreditsPage_StaticTaxIDTypesAreTheTaxidPackages).
  const resp = await fetch("taxid-types.json");
  state.taxTypes = await resp.json();
  const countries = [...new Set(state.taxTypes.map((t) => t.country))];
  $("ac-tax-country").replaceChildren(...countries.map((c) => el("option", { value: c }, countryName(c))));
  renderTaxTypes();
}

function init() {
  $("add-card-pm").replaceChildren(...TEST_CARDS.map(([id, label]) => el("option", { value: id }, label)));
  $("ac-new-pm").replaceChildren(...TEST_CARDS.map(([id, label]) => el("option", { value: id }, label)));
  $("ac-country").replaceChildren(el("option", { value: "" }, "Choose…"), ...COUNTRIES.map((c) => el("option", { value: c }, countryName(c))));

  $("connect").addEventListener("submit", (e) => {
    e.preventDefault();
    connect($("api-url").value.trim(), $("api-token").value.trim());
  });
  $("add-card-form").addEventListener("submit", addCard);
  $("atu-form").addEventListener("submit", saveAutoTopUp);
  $("add-credits-open").addEventListener("click", openAddCredits);
  $("add-credits-form").addEventListener("submit", confirmPurchase);
  $("ac-cancel").addEventListener("click", () => $("add-credits").close());
  $("ac-tax").addEventListener("change", () => { $("ac-tax-fields").hidden = !$("ac-tax").checked; });
  $("ac-tax-country").addEventListener("change", renderTaxTypes);
  $("ac-tax-type").addEventListener("change", () => {
    const t = state.taxTypes.find((x) => x.country === $("ac-tax-country").value && x.type === $("ac-tax-type").value);
    $("ac-tax-value").placeholder = t ? `e.g. ${t.example}` : "";
  });
  $("ac-new-pm").addEventListener("change", () => { $("ac-card-new").checked = true; });
  $("ac-amount").addEventListener("input", () => {
    const cents = parseUserAmount($("ac-amount").value);
    $("ac-confirm").textContent = cents === null ? "Confirm" : `Pay ${formatUSD(centsToDecimal(cents))}`;
  });
  $("tds-complete").addEventListener("click", () => finishThreeDS(false));
  $("tds-fail").addEventListener("click", () => finishThreeDS(true));
  $("history-more").addEventListener("click", () => loadMoreHistory().catch((err) => notice(err.message, "error")));
  for (const b of document.querySelectorAll("button[data-filter]")) {
    b.addEventListener("click", () => {
      state.filter = b.dataset.filter;
      loadHistory().catch((err) => notice(err.message, "error"));
    });
  }

  const { api, token } = readConnection();
  $("api-url").value = api;
  $("api-token").value = token;
  loadTaxTypes().catch((err) => notice(`tax ID types: ${err.message}`, "error"));
  if (token) connect(api, token);
}

init();
