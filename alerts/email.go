package alerts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// email is one alert as a message to the billing addresses.
type email struct {
	From      string
	To        []string
	Subject   string
	Text      string
	HTML      string
	MessageID string // without angle brackets; from the event id, so a resend is recognisable
	Date      time.Time
	EventID   string
	EventType Type
}

// mailer sends emails; errs[i] is nil when ms[i] was accepted.
type mailer interface {
	send(ctx context.Context, ms []email) (errs []error)
}

// logMailer stands in when no SMTP_URL is set: it logs what it would have
// sent (addresses, subject and text) and counts it as delivered.
type logMailer struct{ log *slog.Logger }

func (l logMailer) send(_ context.Context, ms []email) []error {
	for _, m := range ms {
		l.log.Info("alert email not sent: SMTP_URL is not set", "event", m.EventID, "type", string(m.EventType),
			"to", strings.Join(m.To, ", "), "subject", m.Subject, "text", m.Text)
	}
	return make([]error, len(ms))
}

// smtpMailer sends over SMTP with go-mail: one connection per batch of
// emails (one TLS handshake and login for all of them), none shared
// between batches.
type smtpMailer struct {
	host    string
	opts    []mail.Option
	timeout time.Duration
}

// newSMTPMailer reads SMTP_URL: smtp://[user:pass@]host[:port] uses
// STARTTLS when the server offers it (port 587 by default), smtps:// uses
// TLS from the start (port 465). Credentials are only ever sent over TLS:
// go-mail picks a mechanism that does not reveal the password (SCRAM,
// CRAM-MD5) on a connection the server did not let us encrypt.
func newSMTPMailer(cfg Config) (*smtpMailer, error) {
	u, err := url.Parse(cfg.SMTPURL)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL") // the error would echo the password
	}
	if u.Hostname() == "" {
		return nil, errors.New("SMTP_URL has no host")
	}
	m := &smtpMailer{host: u.Hostname(), timeout: cfg.SendTimeout}
	m.opts = []mail.Option{mail.WithTimeout(cfg.SendTimeout)}
	port := 587
	switch u.Scheme {
	case "smtp":
		m.opts = append(m.opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "smtps":
		port = 465
		m.opts = append(m.opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("SMTP_URL scheme %q: use smtp:// (STARTTLS where offered) or smtps://", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("SMTP_URL port %q", p)
		}
	}
	m.opts = append(m.opts, mail.WithPort(port))
	tlsConfig := &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
	if cfg.SMTPTLS != nil {
		tlsConfig = cfg.SMTPTLS.Clone()
	}
	m.opts = append(m.opts, mail.WithTLSConfig(tlsConfig))
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		m.opts = append(m.opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(pass))
	}
	return m, nil
}

func (s *smtpMailer) send(ctx context.Context, ms []email) []error {
	errs := make([]error, len(ms))
	msgs := make([]*mail.Msg, 0, len(ms))
	index := make([]int, 0, len(ms)) // msgs[j] is ms[index[j]]
	for i, e := range ms {
		msg, err := message(e)
		if err != nil {
			errs[i] = err
			continue
		}
		msgs, index = append(msgs, msg), append(index, i)
	}
	if len(msgs) == 0 {
		return errs
	}
	c, err := mail.NewClient(s.host, s.opts...)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, s.timeout*time.Duration(1+len(msgs)/10))
		defer cancel()
		err = c.DialAndSendWithContext(ctx, msgs...)
	}
	for j, msg := range msgs {
		switch {
		case msg.HasSendError():
			errs[index[j]] = fmt.Errorf("smtp: %w", msg.SendError())
		case err != nil && !msg.IsDelivered():
			errs[index[j]] = fmt.Errorf("smtp: %w", err) // the connection failed before this one was sent
		}
	}
	return errs
}

func message(e email) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(e.From); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(e.To...); err != nil {
		return nil, fmt.Errorf("to addresses: %w", err)
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(e.MessageID)
	msg.SetDateWithValue(e.Date)
	msg.SetGenHeader("X-Credits-Event-Id", e.EventID)
	msg.SetGenHeader("X-Credits-Event-Type", string(e.EventType))
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	return msg, nil
}
