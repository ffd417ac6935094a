package ledger_test

import (
	"context"
	"errors"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	os.Exit(code)
}

type fixture struct {
	db *pgtest.DB
	l  *ledger.Ledger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	return &fixture{db: db, l: ledger.Open(db.SQL)}
}

func (f *fixture) workspace(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := f.db.SQL.Exec(`INSERT INTO workspaces (id, name, plan_id, balance, held, balance_version, balance_updated_at, created_at)
		VALUES ($1, 'w', 'free', 0, 0, 0, now(), now())`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) apply(t *testing.T, changes ...ledger.Change) ([]ledger.Move, []ledger.Change, error) {
	t.Helper()
	var moves []ledger.Move
	var dups []ledger.Change
	err := f.l.InTx(context.Background(), func(tx *ledger.Tx) error {
		var err error
		moves, dups, err = ledger.Apply(context.Background(), tx, time.Now().UTC().Truncate(time.Microsecond), changes)
		return err
	})
	return moves, dups, err
}

// balance reads balance, held and version, and checks the invariant.
func (f *fixture) balance(t *testing.T, ws uuid.UUID) (amount, held money.Amount, version int64) {
	t.Helper()
	var sum int64
	if err := f.db.SQL.QueryRow(`SELECT w.balance, w.held, w.balance_version, COALESCE((SELECT sum(amount) FROM ledger_entries e WHERE e.workspace_id = w.id), 0)
		FROM workspaces w WHERE id = $1`, ws).Scan(&amount, &held, &version, &sum); err != nil {
		t.Fatal(err)
	}
	if money.Amount(sum) != amount {
		t.Fatalf("balance %s != ledger sum %s", amount, money.Amount(sum))
	}
	return amount, held, version
}

func credit(ws uuid.UUID, amount money.Amount, ref string) ledger.Change {
	return ledger.Change{WorkspaceID: ws, Kind: ledger.KindAdjustment, Amount: amount, Reference: ref}
}

func TestApply_MovesBalanceAndHeldAndSkipsAKeyAlreadyApplied(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t)
	var published []ledger.Balance
	var mu sync.Mutex
	f.l.OnCommit(func(b ledger.Balance) { mu.Lock(); published = append(published, b); mu.Unlock() })

	moves, dups, err := f.apply(t, credit(ws, money.Dollars(10), "a"), ledger.Change{WorkspaceID: ws, Held: money.Dollars(3)})
	if err != nil || len(dups) != 0 || len(moves) != 1 {
		t.Fatalf("apply: %+v %+v %v", moves, dups, err)
	}
	if m := moves[0]; m.After.Amount != money.Dollars(10) || m.After.Held != money.Dollars(3) || m.After.Version != 1 || m.Before.Version != 0 {
		t.Fatalf("move %+v", m)
	}
	// The same key again, in the same call or a later one: skipped.
	moves, dups, err = f.apply(t, credit(ws, money.Dollars(10), "a"), credit(ws, money.Dollars(1), "b"), credit(ws, money.Dollars(1), "b"))
	if err != nil || len(dups) != 2 || len(moves) != 1 || moves[0].After.Amount != money.Dollars(11) {
		t.Fatalf("replay: %+v %+v %v", moves, dups, err)
	}
	amount, held, version := f.balance(t, ws)
	if amount != money.Dollars(11) || held != money.Dollars(3) || version != 2 {
		t.Fatalf("after: %s %s v%d", amount, held, version)
	}
	// Only duplicates: nothing moves, no new version.
	if moves, dups, err := f.apply(t, credit(ws, money.Dollars(1), "b")); err != nil || len(moves) != 0 || len(dups) != 1 {
		t.Fatalf("all duplicates: %+v %+v %v", moves, dups, err)
	}
	if _, _, v := f.balance(t, ws); v != 2 {
		t.Fatalf("a no-op bumped the version to %d", v)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(published) != 2 || published[1].Version != 2 || published[1].Amount != money.Dollars(11) {
		t.Fatalf("published %+v", published)
	}
}

func TestApply_OverflowAndNegativeHeldFailAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t)
	if _, _, err := f.apply(t, credit(ws, math.MaxInt64, "max")); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.apply(t, credit(ws, 1, "one more"))
	var overflow *ledger.OverflowError
	if !errors.As(err, &overflow) || !errors.Is(err, money.ErrOverflow) || overflow.WorkspaceID != ws {
		t.Fatalf("overflow: %v", err)
	}
	// A huge debit then a huge credit in one call: every balance_after on
	// the way is in range, so it applies.
	if _, _, err := f.apply(t, credit(ws, math.MinInt64, "min"), credit(ws, math.MaxInt64, "max2")); err != nil {
		t.Fatalf("debit then credit: %v", err)
	}
	if _, _, err := f.apply(t, ledger.Change{WorkspaceID: ws, Held: -1}); err == nil {
		t.Fatal("held went below zero")
	}
	if _, _, err := f.apply(t, credit(uuid.New(), 1, "ghost")); !errors.Is(err, ledger.ErrUnknownWorkspace) {
		t.Fatalf("unknown workspace: %v", err)
	}
	if _, _, err := f.apply(t, ledger.Change{WorkspaceID: ws, Kind: ledger.KindAdjustment, Amount: 1}); err == nil {
		t.Fatal("a ledger entry without a reference was applied")
	}
	amount, held, version := f.balance(t, ws)
	if amount != math.MaxInt64-1 || held != 0 || version != 2 {
		t.Fatalf("after the refused changes: %d %s v%d", amount, held, version)
	}
}

func TestInTx_AHookErrorRollsBackAndPublishesNothing(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t)
	boom := errors.New("boom")
	var calls int
	f.l.OnChange(func(ctx context.Context, tx *ledger.Tx, now time.Time, moves []ledger.Move) error {
		calls++
		if moves[0].After.Amount > money.Dollars(5) {
			return boom
		}
		return nil
	})
	published := 0
	f.l.OnCommit(func(ledger.Balance) { published++ })
	afterCommit := 0
	err := f.l.InTx(context.Background(), func(tx *ledger.Tx) error {
		tx.AfterCommit(func() { afterCommit++ })
		_, _, err := ledger.Apply(context.Background(), tx, time.Now(), []ledger.Change{credit(ws, money.Dollars(6), "big")})
		return err
	})
	if !errors.Is(err, boom) || published != 0 || afterCommit != 0 || calls != 1 {
		t.Fatalf("err %v published %d afterCommit %d calls %d", err, published, afterCommit, calls)
	}
	if amount, _, version := f.balance(t, ws); amount != 0 || version != 0 {
		t.Fatalf("rolled back change left %s v%d", amount, version)
	}
	if _, _, err := f.apply(t, credit(ws, money.Dollars(5), "small")); err != nil || published != 1 {
		t.Fatalf("small: %v, published %d", err, published)
	}
}

// Many transactions moving the same workspaces in different orders: the
// ledger locks in id order, so none deadlocks, no update is lost, and the
// invariant holds.
func TestApply_ConcurrentMultiWorkspaceChangesNeverDeadlockOrLoseAnUpdate(t *testing.T) {
	f := newFixture(t)
	a, b := f.workspace(t), f.workspace(t)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			first, second := a, b
			if i%2 == 1 {
				first, second = b, a
			}
			_, _, err := f.apply(t, credit(first, money.Dollars(1), uuid.NewString()), credit(second, -money.Cents(50), uuid.NewString()))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ws := range []uuid.UUID{a, b} {
		if amount, _, version := f.balance(t, ws); amount != money.Cents(50*n/2) || version != n {
			t.Fatalf("workspace %s: %s v%d", ws, amount, version)
		}
	}
}
