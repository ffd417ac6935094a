package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// secretPrefix marks a Standard Webhooks signing secret.
const secretPrefix = "whsec_"

// Sign is the Standard Webhooks signature of one attempt:
// "v1," + base64(HMAC-SHA256(key, id + "." + unix timestamp + "." + body)),
// where key is the secret's base64 part decoded.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// checkEndpointURL is the rule for what may be registered: an absolute
// https URL without credentials or fragment, whose host is not an address
// in a private, loopback or link-local range. With allowPrivate
// (development and tests) such addresses are accepted, and plain http too
// when the host is loopback. Hostnames are checked again at connect time,
// against the address they resolve to (see guardDial).
func checkEndpointURL(raw string, allowPrivate bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if err := checkText("url", raw, maxURLLen); err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, badInput("url", "url must be an absolute https URL")
	}
	if u.User != nil {
		return nil, badInput("url", "url must not carry credentials (user:password@); authenticate with the signature")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, badInput("url", "url must not have a fragment")
	}
	host := u.Hostname()
	addr, isIP := parseHostIP(host)
	loopback := (isIP && addr.IsLoopback()) || strings.EqualFold(host, "localhost")
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate && loopback:
	default:
		return nil, badInput("url", "url must use https")
	}
	if isIP && linkLocal(addr) || !allowPrivate && (loopback || (isIP && !publicAddr(addr))) {
		return nil, badInput("url", "url must not point at a private, loopback or link-local address")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, badInput("url", "url has an invalid port")
		}
	}
	return u, nil
}

func parseHostIP(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// nonPublic are ranges that are not the public internet besides those
// netip classifies (loopback, private, link-local, multicast, unspecified):
// shared address space (carrier NAT), IETF protocol assignments,
// documentation and benchmarking networks, reserved and broadcast, NAT64
// and the IPv6 documentation and discard prefixes.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"), // 6to4: embeds any IPv4 address
}

// publicAddr says whether a webhook may connect to a.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// linkLocal addresses are refused even with AllowPrivate: they hold cloud
// metadata services (169.254.169.254), the classic SSRF prize, and no test
// or development receiver needs them.
func linkLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()
}

// RefusedAddressError is a webhook connection refused before it was made:
// the address is not on the public internet.
type RefusedAddressError struct{ Address string }

func (e *RefusedAddressError) Error() string {
	return fmt.Sprintf("refused to connect to %s: not a public address", e.Address)
}

// guardDial runs after the name was resolved and before the socket
// connects, on the very address about to be dialed: a hostname that
// resolves (or re-resolves, DNS rebinding) to a private address is refused
// here, whatever it resolved to when the endpoint was registered.
func guardDial(_, address string, _ syscall.RawConn) error {
	a, ok := dialedIP(address)
	if !ok || !publicAddr(a) {
		return &RefusedAddressError{Address: address}
	}
	return nil
}

// guardDialPrivate is guardDial with AllowPrivate: loopback and private
// ranges pass, link-local never does.
func guardDialPrivate(_, address string, _ syscall.RawConn) error {
	a, ok := dialedIP(address)
	if !ok || linkLocal(a) {
		return &RefusedAddressError{Address: address}
	}
	return nil
}

func dialedIP(address string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return netip.Addr{}, false
	}
	return parseHostIP(host)
}

// webhookClient posts signed webhooks.
type webhookClient struct {
	http         *http.Client
	allowPrivate bool
}

func newWebhookClient(allowPrivate bool, timeout time.Duration) *webhookClient {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: guardDial}
	if allowPrivate {
		dialer.Control = guardDialPrivate
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past guardDial
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &webhookClient{allowPrivate: allowPrivate, http: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Never follow a redirect: it could lead anywhere, and the endpoint
		// registered is the one the owner vouched for. A 3xx is a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// webhookAttempt is one POST of an event to an endpoint.
type webhookAttempt struct {
	URL, Secret, MessageID string
	Timestamp              time.Time
	Body                   []byte
}

// post sends one attempt; status is the HTTP status (0 when none came
// back) and err is nil only for a 2xx.
func (c *webhookClient) post(ctx context.Context, a webhookAttempt) (status int, err error) {
	// The address is checked by guardDial, on what the name resolves to now.
	u, err := url.Parse(a.URL)
	if err != nil {
		return 0, err
	}
	if u.Scheme != "https" && !c.allowPrivate { // registered under development settings
		return 0, fmt.Errorf("refused: %s is not https", u.Redacted())
	}
	sig, err := Sign(a.Secret, a.MessageID, a.Timestamp, a.Body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(a.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "credits-webhooks/1")
	req.Header.Set("webhook-id", a.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(a.Timestamp.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := c.http.Do(req)
	if err != nil {
		var refused *RefusedAddressError
		if errors.As(err, &refused) {
			return 0, refused
		}
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for connection reuse only
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("HTTP %d: redirects are not followed", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
}
