// Package mail sends e-mail through the operator's SMTP server: alarm
// notifications and invitation links, each with a plain-text and an HTML
// body. The server is named by one URL (--smtp-url), read by ParseURL; a
// Sender speaks SMTP to it with net/smtp, upgrading to TLS when the server
// offers STARTTLS and authenticating only over TLS. Message builds a MIME
// message in which no header can be smuggled in through a value.
package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// Default ports. 587 is the submission port (RFC 6409), where a mail server
// takes messages from programs like this one, with STARTTLS and AUTH; port
// 25 is for servers relaying to each other and is often blocked for
// everyone else. 465 is submission over TLS from the first byte (RFC 8314).
const (
	// DefaultPort is the port of smtp:// URLs that name none.
	DefaultPort = 587
	// DefaultTLSPort is the port of smtps:// URLs that name none.
	DefaultTLSPort = 465
)

// Config says where and as whom to send mail. Its String, GoString and
// LogValue leave the password out, so a Config, or a struct holding one in
// an exported field, can be printed with %v, %+v, %#v, %s or %q and logged with
// slog.
type Config struct {
	// Host is the server's name or address, as the TLS certificate names it.
	Host string
	// Port is the server's TCP port.
	Port int
	// Username and Password are the AUTH PLAIN credentials; no AUTH when
	// Username is empty.
	Username string
	Password string
	// ImplicitTLS is true for smtps://: TLS from the first byte, not
	// STARTTLS.
	ImplicitTLS bool
}

// maxURLLen bounds an SMTP URL; nothing real comes near it.
const maxURLLen = 2048

// ParseURL reads the operator's SMTP URL:
//
//	smtp://[user[:password]@]host[:port]   STARTTLS when offered; port 587 by default
//	smtps://[user[:password]@]host[:port]  TLS from the start; port 465 by default
//
// Special characters in the user name and password are percent-encoded
// (p@ss is p%40ss). A URL with a path other than "/", a query or a fragment
// is refused, as it probably means something this package does not do.
// Errors never repeat the password, nor the URL, which holds it.
func ParseURL(raw string) (Config, error) {
	if raw == "" {
		return Config{}, errors.New("smtp URL is empty")
	}
	if len(raw) > maxURLLen {
		return Config{}, fmt.Errorf("smtp URL is longer than %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's errors quote the URL, password and all.
		return Config{}, errors.New("smtp URL cannot be parsed; percent-encode special characters in the user name and password")
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port = DefaultPort
	case "smtps":
		c.Port, c.ImplicitTLS = DefaultTLSPort, true
	default:
		return Config{}, errors.New("smtp URL must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || u.Host == "" {
		return Config{}, errors.New("smtp URL has no host; write smtp://host:port")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return Config{}, errors.New("smtp URL may not have a path, a query or a fragment")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, errors.New("smtp URL has no host; write smtp://host:port")
	}
	if !validHost(c.Host) {
		return Config{}, errors.New("smtp URL's host is neither a name nor an IP address")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, errors.New("smtp URL's port must be a number from 1 to 65535")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return Config{}, errors.New("smtp URL has a password but no user name")
		}
	}
	return c, nil
}

// validHost accepts an IP address or a name of letters, digits, hyphens,
// underscores and dots: what a resolver and a certificate can match.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, c := range []byte(h) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Addr is the server's host:port, to dial.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// String returns the URL without the password: smtp://user@host:port.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Addr()}
	if c.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// GoString is String, so that %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// LogValue is String, so that slog does not log the password either.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
