// Package ledger is the only writer of workspace balances.
//
// Every balance change — a usage batch, a purchase or auto top-up credit,
// an operator grant, a refund, a hold placed, settled or expired — is a
// Change given to Apply, inside a Tx. In that one database transaction
// Apply row-locks the workspaces (in id order, so concurrent transactions
// cannot deadlock), skips changes whose (workspace, kind, reference) key is
// in the ledger already, appends the ledger entries, moves balance and held
// with checked arithmetic (an overflow fails the change with
// *OverflowError, never wraps), bumps the balance version, queues a NOTIFY
// and runs the registered hooks (auto top-up, alerts) in the transaction.
// After the transaction commits, the new balances are published once to the
// OnCommit observers of this process; other processes learn of them through
// the NOTIFY on Channel.
//
// The invariant it keeps: a workspace's balance equals the sum of its ledger
// entries, and held equals the sum of its active holds (holds are written by
// billing in the same transaction as the Change that moves held).
//
// It owns transactions (Tx: ent for the models, raw SQL through ent's
// ExecContext for the measured hot path, prepared once per connection), the
// balance and its notification format. It does not own any rule about when
// money moves (billing decides that), nor HTTP, GraphQL or the processor.
package ledger
