// Package alertstest runs, inside a test process, what alerts are sent to:
// a real SMTP server (emersion/go-smtp, STARTTLS with a certificate the
// test trusts, AUTH PLAIN) that parses what it receives, and an HTTP
// receiver that verifies Standard Webhooks signatures with the reference
// implementation and counts attempts and acknowledged deliveries per
// webhook-id. Only tests import it.
package alertstest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Mail is one message the SMTP server accepted, parsed.
type Mail struct {
	From   string
	To     []string
	Header mail.Header
	Raw    []byte
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
	// TLS says the message came over a connection upgraded by STARTTLS;
	// User is who authenticated ("" when nobody did).
	TLS  bool
	User string
}

// SMTPServer is a real SMTP server on 127.0.0.1.
type SMTPServer struct {
	Addr     string
	User     string
	Password string
	// ClientTLS trusts the server's certificate (alerts.Config.SMTPTLS).
	ClientTLS *tls.Config

	mu    sync.Mutex
	mails []Mail
	// Reject, when set, answers every message with this error (a 4xx or 5xx).
	Reject *smtp.SMTPError
	got    chan struct{}
}

// NewSMTPServer starts a server that offers STARTTLS and AUTH PLAIN (after
// TLS only) for user/password; it stops when the test ends.
func NewSMTPServer(t testing.TB, user, password string) *SMTPServer {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &SMTPServer{User: user, Password: password, got: make(chan struct{}, 1024),
		ClientTLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = nopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l) //nolint:errcheck // ends when closed
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the SMTP_URL that reaches this server with its credentials.
func (s *SMTPServer) URL() string {
	return (&url.URL{Scheme: "smtp", User: url.UserPassword(s.User, s.Password), Host: s.Addr}).String()
}

// Mails returns what was received so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits until n messages were received in all, or fails the test after 10 s.
func (s *SMTPServer) Wait(t testing.TB, n int) []Mail {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("SMTP server received %d messages, want %d", len(s.Mails()), n)
		}
	}
}

type session struct {
	srv  *SMTPServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != x.srv.User || password != x.srv.Password {
			return errors.New("invalid credentials")
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.srv.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.srv.Reject != nil {
		return x.srv.Reject
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparseable message: " + err.Error()}
	}
	_, m.TLS = x.conn.TLSConnectionState()
	m.From, m.To, m.User = x.from, append([]string(nil), x.to...), x.user
	x.srv.mu.Lock()
	x.srv.mails = append(x.srv.mails, m)
	x.srv.mu.Unlock()
	x.srv.got <- struct{}{}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// parse reads a message with the standard library: headers, then the
// text/plain and text/html parts of a multipart/alternative body.
func parse(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Header: msg.Header, Raw: raw}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, err
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := decodePart(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		m.Text = body
		return m, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		// multipart.Part decodes quoted-printable itself (and drops the header).
		body, err := decodePart(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			return m, err
		}
		switch ct {
		case "text/plain":
			m.Text = body
		case "text/html":
			m.HTML = body
		}
	}
}

func decodePart(encoding string, r io.Reader) (string, error) {
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}
func (nopLogger) Println(...interface{})        {}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alertstest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// Receiver is a webhook endpoint: it verifies each request's signature with
// the Standard Webhooks reference library and answers with Respond's status.
type Receiver struct {
	*httptest.Server
	secret string

	mu sync.Mutex
	// Respond picks the status of the n-th attempt (1-based) of a webhook-id;
	// nil answers 200.
	Respond  func(id string, attempt int) int
	attempts map[string]int
	acked    map[string]int
	bad      []string
	requests []Request
	got      chan struct{}
}

// Request is one webhook attempt as received.
type Request struct {
	ID        string
	Header    http.Header
	Body      []byte
	Verified  bool
	Status    int
	Attempt   int
	Timestamp string
}

// NewReceiver starts a receiver on 127.0.0.1 (http); SetSecret before the
// first delivery.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{attempts: map[string]int{}, acked: map[string]int{}, got: make(chan struct{}, 1<<16)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// SetSecret is the endpoint's whsec_ secret, as createWebhookEndpoint returned it.
func (r *Receiver) SetSecret(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = secret
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	verified := false
	if wh, err := standardwebhooks.NewWebhook(secret); err == nil {
		// The worker stamps attempts with the service clock, which tests move.
		verified = wh.VerifyIgnoringTimestamp(body, req.Header) == nil
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.attempts[id]++
	attempt := r.attempts[id]
	respond := r.Respond
	r.mu.Unlock()
	status := http.StatusOK
	if respond != nil {
		status = respond(id, attempt)
	}
	if !verified {
		status = http.StatusUnauthorized
	}
	r.mu.Lock()
	if !verified {
		r.bad = append(r.bad, id)
	}
	if status >= 200 && status < 300 {
		r.acked[id]++
	}
	r.requests = append(r.requests, Request{ID: id, Header: req.Header.Clone(), Body: body, Verified: verified, Status: status,
		Attempt: attempt, Timestamp: req.Header.Get("webhook-timestamp")})
	r.mu.Unlock()
	w.WriteHeader(status)
	r.got <- struct{}{}
}

// Requests returns every attempt received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Acked returns, per webhook-id, how many attempts were answered 2xx.
func (r *Receiver) Acked() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.acked {
		out[k] = v
	}
	return out
}

// Unverified returns the webhook-ids of requests whose signature failed.
func (r *Receiver) Unverified() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

// WaitAcked waits until n distinct webhook-ids were acknowledged, or fails
// the test after timeout.
func (r *Receiver) WaitAcked(t testing.TB, n int, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if a := r.Acked(); len(a) >= n {
			return a
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("receiver acknowledged %d webhook ids, want %d", len(r.Acked()), n)
		}
	}
}
