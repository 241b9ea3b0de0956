package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"time"
)

// DefaultTimeout bounds one Send when Sender.Timeout is zero: a slow mail
// server must not hold a dispatcher for long, and the next try is cheap.
const DefaultTimeout = 30 * time.Second

// Sender sends messages through one SMTP server. Each Send opens its own
// connection; a Sender is safe for concurrent use.
//
// Over smtp:// it upgrades with STARTTLS whenever the server offers it, and
// then refuses to go on if the server's certificate does not verify: there
// is no quiet fall-back to plain text. A server that does not offer STARTTLS
// gets the message in plain text, but never the password: AUTH PLAIN is
// sent only over TLS, or to localhost (net/smtp's rule), so a URL with
// credentials and a server without TLS fail before the password leaves.
type Sender struct {
	// Config is the server and the credentials, from ParseURL.
	Config Config
	// TLSConfig verifies the server's certificate (nil: the system's roots).
	// Its ServerName defaults to Config.Host.
	TLSConfig *tls.Config
	// Hello is the name this host gives in EHLO ("localhost" when empty).
	Hello string
	// Timeout bounds one Send, from dial to QUIT (DefaultTimeout when zero).
	Timeout time.Duration
	// Now dates messages (time.Now when nil).
	Now func() time.Time
}

// Send builds m and delivers it to the server, for every recipient or none:
// a recipient the server refuses fails the whole Send before the message is
// sent. A message that cannot be built gives a *qm.Error with code
// qm.EInvalid before any connection is made; anything else is the server's
// or the network's error, wrapped with what was being done. ctx and
// Timeout both bound it: when ctx ends first the error wraps ctx.Err().
func (s *Sender) Send(ctx context.Context, m Message) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	b, err := m.build(now())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.send(ctx, b); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("send mail via %s: %w (%v)", s.Config.Addr(), ctx.Err(), err)
		}
		return fmt.Errorf("send mail via %s: %w", s.Config.Addr(), err)
	}
	return nil
}

func (s *Sender) send(ctx context.Context, b built) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Config.Addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	// net/smtp knows no context: the deadline bounds every read and write,
	// and cancelling ctx moves it to the past, which wakes any that waits.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsConfig := s.tlsConfig()
	if s.Config.ImplicitTLS {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Config.Host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if s.Hello != "" {
		if err := c.Hello(s.Hello); err != nil {
			return fmt.Errorf("hello: %w", err)
		}
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.Config.ImplicitTLS {
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.Config.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server does not offer AUTH (over this connection), and the URL has credentials")
		}
		if err := c.Auth(smtp.PlainAuth("", s.Config.Username, s.Config.Password, s.Config.Host)); err != nil {
			return fmt.Errorf("authenticate as %s: %w", s.Config.Username, err)
		}
	}
	if err := c.Mail(b.from); err != nil {
		return fmt.Errorf("server refused sender %s: %w", b.from, err)
	}
	for _, to := range b.to {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("server refused recipient %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(b.data); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("server refused the message: %w", err)
	}
	// The server has taken the message: a failed QUIT is no reason to
	// send it again.
	_ = c.Quit()
	return nil
}

func (s *Sender) tlsConfig() *tls.Config {
	c := &tls.Config{}
	if s.TLSConfig != nil {
		c = s.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = s.Config.Host
	}
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	return c
}
