// Package pgarray writes the array arguments of the measured hot paths
// (usage ingestion, settlement, the ledger writer) as Postgres array
// literals, for $n::uuid[], $n::text[] and $n::bigint[].
//
// pq.Array does the same for any slice, but the usage transaction sends
// thousands of elements in each statement and pq.Array's quoting was the
// largest single cost of the committer's own CPU (18 % of it at 10,000
// workspaces: a []byte copy of every element, quoted byte by byte, then
// copied again into a string; docs/performance.md). Here each literal is
// one buffer sized up front.
package pgarray

import (
	"math"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// UUIDs is ids as a uuid[] literal, {id,id,…}. A uuid's text (hex digits
// and hyphens) never needs quoting.
func UUIDs(ids []uuid.UUID) string {
	return literal(ids, 2+37*len(ids), func(b *strings.Builder, id uuid.UUID) {
		var buf [36]byte
		encodeUUID(&buf, id)
		b.Write(buf[:])
	})
}

// Int64s is vals as a bigint[] literal, {1,-2,…}, written into one buffer
// sized for the values (pq.Array grows its buffer as it goes, then copies
// it into a string).
func Int64s(vals []int64) string {
	n := 2
	for _, v := range vals {
		n += digits(v) + 1
	}
	return literal(vals, n, func(b *strings.Builder, v int64) {
		var buf [20]byte
		b.Write(strconv.AppendInt(buf[:0], v, 10))
	})
}

// digits is how many bytes v takes in decimal, its sign included.
func digits(v int64) int {
	n := 1
	if v < 0 {
		n++
		if v == math.MinInt64 {
			return 20
		}
		v = -v
	}
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

const hexDigits = "0123456789abcdef"

// encodeUUID writes id in its canonical form, as uuid.UUID.String does,
// without allocating.
func encodeUUID(dst *[36]byte, id uuid.UUID) {
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
}

// Texts is vals as a text[] literal. Every element is quoted, so that
// none is read as NULL, loses its blanks or splits at a comma or brace;
// inside the quotes only a quote and a backslash are escaped (with a
// backslash), which is all the array syntax reads there. A NUL byte or
// invalid UTF-8 is sent as it is, and Postgres refuses the statement, as
// it would any text argument holding it.
func Texts(vals []string) string {
	n := 2
	for _, v := range vals {
		n += len(v) + 3
	}
	return literal(vals, n, func(b *strings.Builder, v string) {
		b.WriteByte('"')
		for {
			k := strings.IndexAny(v, `"\`)
			if k < 0 {
				b.WriteString(v)
				break
			}
			b.WriteString(v[:k])
			b.WriteByte('\\')
			b.WriteByte(v[k])
			v = v[k+1:]
		}
		b.WriteByte('"')
	})
}

// literal is vals as an array literal, {…,…}, each element written by
// elem into one buffer of size bytes.
func literal[T any](vals []T, size int, elem func(b *strings.Builder, v T)) string {
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('{')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		elem(&b, v)
	}
	b.WriteByte('}')
	return b.String()
}
