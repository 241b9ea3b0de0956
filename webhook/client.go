package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one attempt: receivers should answer at once
	// and do their work later, and a slow one must not hold a dispatcher.
	DefaultTimeout = 10 * time.Second
	// DefaultUserAgent names the sender to receivers and their logs.
	DefaultUserAgent = "Quartermaster-Webhook/1"
)

// maxRedirects is how many redirects one delivery follows. A receiver that
// moved says so once or twice; more is a loop or a game.
const maxRedirects = 3

// maxResponse is how much of an answer is read, so the connection can be
// reused; the rest is left unread and the connection closed. Nothing in the
// answer is kept: only its status counts.
const maxResponse = 64 << 10

// Options configure a Client. The zero value is usable.
type Options struct {
	// AllowPrivate turns off the address checks of CheckURL and the dial
	// guard (the operator's --webhook-allow-private).
	AllowPrivate bool
	// Timeout bounds one attempt from dial to the end of the answer
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// UserAgent is sent with every request (DefaultUserAgent when empty).
	UserAgent string
	// Now is the clock the signature's timestamp and Attempt.At are read
	// from (time.Now when nil). Latency is always measured on the real
	// clock.
	Now func() time.Time
}

// Client delivers webhooks. It keeps connections open between deliveries to
// the same receiver, and is safe for concurrent use.
type Client struct {
	http         *http.Client
	transport    *http.Transport
	allowPrivate bool
	timeout      time.Duration
	userAgent    string
	now          func() time.Time
}

// NewClient returns a Client with options o.
func NewClient(o Options) *Client {
	return newClient(o, guard{})
}

func newClient(o Options, g guard) *Client {
	c := &Client{
		allowPrivate: o.AllowPrivate,
		timeout:      cmp.Or(o.Timeout, DefaultTimeout),
		userAgent:    cmp.Or(o.UserAgent, DefaultUserAgent),
		now:          o.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.ControlContext = g.control
	}
	c.transport = &http.Transport{
		// No proxy, whatever the environment says: through a proxy the guard
		// would judge the proxy's address, not the receiver's.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   c.timeout,
		ResponseHeaderTimeout: c.timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	c.http = &http.Client{
		Transport:     c.transport,
		CheckRedirect: c.checkRedirect,
	}
	return c
}

// checkRedirect follows at most maxRedirects redirects, each to a URL that
// CheckURL accepts, and never from https to http: a receiver that asked
// for TLS does not get its events in the clear because of a redirect. The
// dial guard then checks the address the redirect leads to, as it does for
// every connection.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("webhook: stopped after %d redirects", maxRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("webhook: refused a redirect from https to " + req.URL.Scheme)
	}
	if err := checkURL(req.URL, c.allowPrivate); err != nil {
		return fmt.Errorf("webhook: refused a redirect: %w", err)
	}
	return nil
}

// CloseIdleConnections closes the connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// Attempt is the outcome of one delivery, as the delivery log keeps it.
type Attempt struct {
	// At is when the attempt started, on the Client's clock.
	At time.Time
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// Latency is how long the attempt took, to the end of the part of
	// the answer that is read, or to the failure.
	Latency time.Duration
	// Err is nil when the receiver answered 2xx. Otherwise it says what
	// went wrong: the URL refused, the address refused by the dial guard
	// (wrapping ErrForbiddenAddress), a network failure or timeout, or the
	// status. Its text names only the tenant's own URL and the addresses
	// it resolved to, never the secret or the body.
	Err error
}

// OK reports whether the receiver accepted the event (answered 2xx).
func (a Attempt) OK() bool { return a.Err == nil }

// Deliver POSTs body, a JSON document, to target, signed with secret, as
// event eventID. It checks target with CheckURL first, so an endpoint saved
// before the operator changed --webhook-allow-private is judged by the
// current setting. It never returns without an Attempt to log: every
// failure is in Attempt.Err. ctx bounds the attempt as well as the Client's
// timeout.
func (c *Client) Deliver(ctx context.Context, target string, secret []byte, eventID string, body []byte) Attempt {
	a := Attempt{At: c.now()}
	start := time.Now()
	a.Status, a.Err = c.deliver(ctx, target, secret, eventID, body, a.At)
	a.Latency = time.Since(start)
	return a
}

func (c *Client) deliver(ctx context.Context, target string, secret []byte, eventID string, body []byte, at time.Time) (int, error) {
	if err := CheckURL(target, c.allowPrivate); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set(HeaderEvent, eventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secret, at, body))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can carry the next
	// delivery; a receiver that says more is cut off.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
