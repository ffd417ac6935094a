package feed

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
)

type recorder struct {
	mu   sync.Mutex
	got  []int64
	done int
}

func (r *recorder) deliver(b billing.Balance) {
	r.mu.Lock()
	r.got = append(r.got, b.Version)
	r.mu.Unlock()
}
func (r *recorder) close() { r.mu.Lock(); r.done++; r.mu.Unlock() }
func (r *recorder) versions() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.got...)
}

func TestHub_ASecondSubscriberGetsTheLatestAtOnceWithoutARead(t *testing.T) {
	h := NewHub()
	ws := uuid.New()
	var first, second recorder
	a := h.Subscribe(ws, time.Hour, first.deliver, first.close)
	if a.Delivered() {
		t.Fatal("a first subscriber has nothing to be delivered")
	}
	h.Publish(billing.Balance{WorkspaceID: ws, Version: 7})
	b := h.Subscribe(ws, time.Hour, second.deliver, second.close)
	if !b.Delivered() || len(second.versions()) != 1 || second.versions()[0] != 7 {
		t.Fatalf("second subscriber: delivered %v, got %v", b.Delivered(), second.versions())
	}
	if h.Count() != 2 || h.Topics() != 1 {
		t.Fatalf("%d subscriptions on %d topics", h.Count(), h.Topics())
	}
	a.Close()
	a.Close()
	b.Close()
	if first.done != 1 || second.done != 1 || h.Count() != 0 || h.Topics() != 0 {
		t.Fatalf("after close: done %d/%d, %d subscriptions, %d topics", first.done, second.done, h.Count(), h.Topics())
	}
	h.Publish(billing.Balance{WorkspaceID: ws, Version: 8})
	if len(first.versions()) != 1 || len(second.versions()) != 1 {
		t.Fatal("a closed subscription received a balance")
	}
}

func TestHub_BurstsCoalesceToTheLatestAndOldVersionsAreIgnored(t *testing.T) {
	h := NewHub()
	ws := uuid.New()
	var r recorder
	s := h.Subscribe(ws, 50*time.Millisecond, r.deliver, r.close)
	defer s.Close()
	for v := int64(1); v <= 100; v++ {
		h.Publish(billing.Balance{WorkspaceID: ws, Version: v})
	}
	h.Publish(billing.Balance{WorkspaceID: ws, Version: 3}) // late and old
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.versions(); len(got) > 0 && got[len(got)-1] == 100 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := r.versions()
	if len(got) == 0 || got[len(got)-1] != 100 || len(got) > 3 {
		t.Fatalf("delivered %v; want the first, then the latest (100), coalesced", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("versions went backwards: %v", got)
		}
	}
}

func TestHub_OtherWorkspacesSeeNothing(t *testing.T) {
	h := NewHub()
	var r recorder
	s := h.Subscribe(uuid.New(), 0, r.deliver, r.close)
	defer s.Close()
	h.Publish(billing.Balance{WorkspaceID: uuid.New(), Version: 1})
	if len(r.versions()) != 0 {
		t.Fatal("another workspace's balance was delivered")
	}
}
