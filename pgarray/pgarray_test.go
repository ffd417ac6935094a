package pgarray_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/pgarray"
	"github.com/airouter/credits/pgtest"
)

// awkward are strings a text[] literal can trip on: the array syntax's
// braces, quotes, commas and backslashes, the word NULL, blanks, control
// characters, many-byte letters, JSON (the ledger's notification payloads).
var awkward = []string{"", "NULL", "null", `"`, `\`, `\\`, `\"`, `""`, "{", "}", "{}", ",", "a,b", "{a,b}", " lead", "trail ",
	"  ", "\t", "line\nbreak", "\r\n", "\x1f", "\x01", "é中🙂", `{"id":"x","balance":"-1.50","msg":"a \"q\" b\\c"}`,
	strings.Repeat(`x"\`, 1000), "ARRAY[1]", "'quoted'", "$1", "E'\\x41'"}

// Postgres reads back every element exactly as given, in order.
func TestTexts_PostgresReadsBackEveryElement(t *testing.T) {
	db := pgtest.New(t)
	for _, vals := range [][]string{nil, {}, {""}, {"NULL"}, awkward, slices.Repeat(awkward, 50)} {
		var got pq.StringArray
		if err := db.SQL.QueryRowContext(context.Background(), `SELECT $1::text[]`, pgarray.Texts(vals)).Scan(&got); err != nil {
			t.Fatalf("%q: %v", vals, err)
		}
		if len(vals) == 0 && len(got) == 0 {
			continue
		}
		if !slices.Equal([]string(got), vals) {
			t.Fatalf("read back\n got %q\nwant %q", got, vals)
		}
	}
}

// Text Postgres cannot hold is refused by Postgres, as any text argument
// holding it would be: the literal is never read as something else.
func TestTexts_PostgresRefusesWhatTextCannotHold(t *testing.T) {
	db := pgtest.New(t)
	for _, bad := range []string{"nul\x00byte", "\xff\xfe", "half \xe2\x82"} {
		var got pq.StringArray
		err := db.SQL.QueryRowContext(context.Background(), `SELECT $1::text[]`, pgarray.Texts([]string{"ok", bad})).Scan(&got)
		if err == nil {
			t.Fatalf("%q: read back as %q, want an error", bad, got)
		}
	}
}

// Every uuid reaches Postgres as the same uuid, including the nil and the
// all-ones one, for a thousand at once (a usage batch's workspaces).
func TestUUIDs_PostgresReadsBackEveryID(t *testing.T) {
	db := pgtest.New(t)
	ids := []uuid.UUID{uuid.Nil, uuid.Max}
	for range 1000 {
		ids = append(ids, uuid.New())
	}
	for _, in := range [][]uuid.UUID{nil, ids[:1], ids} {
		var got pq.StringArray
		if err := db.SQL.QueryRowContext(context.Background(), `SELECT $1::uuid[]::text[]`, pgarray.UUIDs(in)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(in) {
			t.Fatalf("read back %d ids, want %d", len(got), len(in))
		}
		for i, id := range in {
			if got[i] != id.String() {
				t.Fatalf("element %d: got %s, want %s", i, got[i], id)
			}
		}
	}
}

// The literal parses back to the input for any strings (pq's parser of
// array literals stands in for Postgres's here; the tests above check
// Postgres itself), and for any uuid.
func FuzzTexts(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, "second", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	}
	f.Fuzz(func(t *testing.T, a, b string, raw []byte) {
		vals := []string{a, b, a + b}
		var got pq.StringArray
		if err := got.Scan([]byte(pgarray.Texts(vals))); err != nil {
			t.Fatalf("%q: %v", vals, err)
		}
		if !slices.Equal([]string(got), vals) {
			t.Fatalf("parsed back\n got %q\nwant %q", got, vals)
		}
		var id uuid.UUID
		copy(id[:], raw)
		if lit, want := pgarray.UUIDs([]uuid.UUID{id, id}), "{"+id.String()+","+id.String()+"}"; lit != want {
			t.Fatalf("UUIDs: got %s, want %s", lit, want)
		}
	})
}

// Against pq.Array on a usage batch's shapes: go test -bench . ./pgarray
func BenchmarkTexts(b *testing.B) {
	vals := make([]string, 1000)
	for i := range vals {
		vals[i] = `{"workspace_id":"` + uuid.NewString() + `","balance":"12.50","version":7}`
	}
	b.Run("pgarray", func(b *testing.B) {
		for b.Loop() {
			_ = pgarray.Texts(vals)
		}
	})
	b.Run("pq.Array", func(b *testing.B) {
		for b.Loop() {
			_, _ = pq.Array(vals).Value()
		}
	})
}

func BenchmarkUUIDs(b *testing.B) {
	ids := make([]uuid.UUID, 1000)
	for i := range ids {
		ids[i] = uuid.New()
	}
	b.Run("pgarray", func(b *testing.B) {
		for b.Loop() {
			_ = pgarray.UUIDs(ids)
		}
	})
	b.Run("pq.Array of strings", func(b *testing.B) {
		for b.Loop() {
			text := make([]string, len(ids))
			for i, id := range ids {
				text[i] = id.String()
			}
			_, _ = pq.Array(text).Value()
		}
	})
}

// Postgres reads back every bigint, the extremes included.
func TestInt64s_PostgresReadsBackEveryValue(t *testing.T) {
	db := pgtest.New(t)
	vals := []int64{0, 1, -1, 9, 10, -10, 99, 100, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1795262400000000}
	for _, in := range [][]int64{nil, vals[:1], vals} {
		var got pq.Int64Array
		if err := db.SQL.QueryRowContext(context.Background(), `SELECT $1::bigint[]`, pgarray.Int64s(in)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if len(in) == 0 && len(got) == 0 {
			continue
		}
		if !slices.Equal([]int64(got), in) {
			t.Fatalf("read back %v, want %v", got, in)
		}
	}
}

// The literal is what pq.Array writes, for any values; its buffer is
// sized exactly (a wrong digit count would grow it or leave it short).
func FuzzInt64s(f *testing.F) {
	f.Add(int64(0), int64(-1), int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(10), int64(-999999999999))
	f.Fuzz(func(t *testing.T, a, b, c int64) {
		vals := []int64{a, b, c}
		want, _ := pq.Array(vals).Value()
		if got := pgarray.Int64s(vals); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}

func BenchmarkInt64s(b *testing.B) {
	vals := make([]int64, 1000)
	for i := range vals {
		vals[i] = 1795262400000000 + int64(i)*7919
	}
	b.Run("pgarray", func(b *testing.B) {
		for b.Loop() {
			_ = pgarray.Int64s(vals)
		}
	})
	b.Run("pq.Array", func(b *testing.B) {
		for b.Loop() {
			_, _ = pq.Array(vals).Value()
		}
	})
}
