// Package links makes download links: the plain ones that need the bearer
// token, and signed ones that work as a plain <a href> for a short time.
//
// A signed link is bound to one document of one workspace: its query
// carries the workspace, the expiry and an HMAC-SHA256 over the document's
// kind, id, workspace and expiry with a server secret
// (DOWNLOAD_SIGNING_KEY, the same on every instance). Changing any of them,
// or using it after it expired, makes Verify fail.
//
// It owns the link format only; the handlers decide what a valid link lets
// through, and never a document of another workspace.
package links

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// TTL is how long a signed link works.
const TTL = 15 * time.Minute

// MinKeyLen is the shortest signing key accepted (bytes).
const MinKeyLen = 32

// Kind names what a link downloads; it is part of the signature, so an
// invoice's link cannot be replayed for a credit note with the same id.
type Kind string

const (
	Invoice    Kind = "invoices"
	CreditNote Kind = "credit-notes"
)

// Signer makes and checks links.
type Signer struct {
	publicURL string
	key       []byte
	now       func() time.Time
}

// New returns a signer for links under publicURL. key must be at least
// MinKeyLen bytes.
func New(publicURL string, key []byte, now func() time.Time) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("links: the signing key must be at least %d bytes", MinKeyLen)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{publicURL: publicURL, key: key, now: now}, nil
}

// RandomKey returns a fresh key, for development servers that have none
// configured (links then break when the process restarts).
func RandomKey() []byte {
	k := make([]byte, MinKeyLen)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// URL is the plain link (it needs the bearer token).
func (s *Signer) URL(kind Kind, id uuid.UUID) string {
	return fmt.Sprintf("%s/%s/%s.pdf", s.publicURL, kind, id)
}

// Signed is the link that works without a header until TTL from now.
func (s *Signer) Signed(kind Kind, workspaceID, id uuid.UUID) string {
	expires := s.now().Add(TTL).Unix()
	q := url.Values{"ws": {workspaceID.String()}, "expires": {strconv.FormatInt(expires, 10)},
		"sig": {s.signature(kind, workspaceID, id, expires)}}
	return s.URL(kind, id) + "?" + q.Encode()
}

// ErrInvalid means a signed link was tampered with, malformed or expired.
var ErrInvalid = errors.New("links: invalid or expired link")

// Verify checks a signed link's query for the document kind/id and
// returns the workspace it was made for.
func (s *Signer) Verify(kind Kind, id uuid.UUID, q url.Values) (uuid.UUID, error) {
	ws, err := uuid.Parse(q.Get("ws"))
	if err != nil {
		return uuid.Nil, ErrInvalid
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || s.now().Unix() >= expires {
		return uuid.Nil, ErrInvalid
	}
	want := s.signature(kind, ws, id, expires)
	if !hmac.Equal([]byte(q.Get("sig")), []byte(want)) {
		return uuid.Nil, ErrInvalid
	}
	return ws, nil
}

// IsSigned says whether a request carries a signed link's query.
func IsSigned(q url.Values) bool { return q.Has("sig") }

func (s *Signer) signature(kind Kind, ws, id uuid.UUID, expires int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%s\n%s\n%d", kind, id, ws, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
