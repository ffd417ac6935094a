package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/airouter/credits/auth"
)

func guard() documentGuard {
	return documentGuard{limits: DefaultLimits, cached: func(context.Context, string) (*ast.QueryDocument, bool) { return nil, false }}
}

func TestDocumentGuard_ACancelledRequestDoesNoWork(t *testing.T) {
	ctx, cancel := context.WithCancel(auth.WithCaller(context.Background(), auth.Caller{Role: auth.RoleOwner}))
	cancel()
	if err := guard().MutateOperationParameters(ctx, &graphql.RawParams{Query: "{ balance { amount } }"}); err == nil {
		t.Fatal("a cancelled request was parsed")
	}
}

func TestDocumentGuard_LimitsAreInclusive(t *testing.T) {
	ctx := auth.WithCaller(context.Background(), auth.Caller{Role: auth.RoleOwner})
	g := guard()
	g.limits.MaxSelections, g.limits.MaxAliases, g.limits.MaxFragments = 4, 1, 1
	for query, ok := range map[string]bool{
		"{ a b c d }":                    true,
		"{ a b c d e }":                  false,
		"{ x: a b }":                     true,
		"{ x: a y: b }":                  false,
		"{ a: a b }":                     true, // an alias equal to the name is no alias
		"{ ...F } fragment F on Q { a }": true,
		"{ ...F } fragment F on Q { a } fragment G on Q { a }":     false,
		"{ a { b { c { d } } } }":                                  true,
		"{ a { b { c { d { e } } } } }":                            false,
		"{ " + strings.Repeat("a ", DefaultLimits.MaxTokens) + "}": false,
		"{ broken": true, // syntax errors are gqlgen's to report
	} {
		err := g.MutateOperationParameters(ctx, &graphql.RawParams{Query: query})
		if (err == nil) != ok {
			t.Errorf("%q: %v", query, err)
		}
	}
}

func TestMutationLimit_RefillsAtItsRateAndIsPerToken(t *testing.T) {
	l := newMutationLimit(2, 3)
	a, b := uuid.New(), uuid.New()
	now := time.Unix(1_000_000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take(a, now); !ok {
			t.Fatalf("mutation %d within the burst refused", i)
		}
	}
	ok, wait := l.take(a, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th: ok %v wait %s, want a refusal for 500ms", ok, wait)
	}
	if ok, _ := l.take(b, now); !ok {
		t.Fatal("another token shares the budget")
	}
	if ok, _ := l.take(a, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("no refill after 500ms at 2/s")
	}
	if ok, _ := l.take(a, now.Add(500*time.Millisecond)); ok {
		t.Fatal("a refused take was counted as spent, or the refill is too generous")
	}
}
