// Package payments is a small interface over the card processor and its two
// implementations: the Stripe adapter (stripe-go v76) and the sandbox
// provider that follows Stripe's test-mode semantics without moving money.
//
// It owns talking to the processor: customers, cards, setup intents,
// charges and refunds. It does not own money rules, balances or idempotency records;
// billing decides what to charge and keys every charge with its own ids.
package payments
