package broker

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm/metrics"
)

// Limits bound what a connection may cost the server, above all before it
// has authenticated: until then anyone on the network can open one.
type Limits struct {
	// MaxPacket is the largest packet, in bytes, an authenticated device
	// may send; a larger one closes its connection before it is read. 0:
	// DefaultMaxPacket.
	MaxPacket int
	// MaxConnectPacket is the largest CONNECT, in bytes, a connection may
	// declare; a larger one is closed as soon as its length is known, so
	// its bytes are neither read nor allocated. 0: DefaultMaxConnectPacket.
	MaxConnectPacket int
	// ConnectTimeout is how long a new connection has to send its whole
	// CONNECT (and finish its TLS handshake) before it is closed. 0:
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxUnauthenticated is how many connections may be open at once
	// without having authenticated yet; more are closed as they arrive.
	// 0: DefaultMaxUnauthenticated.
	MaxUnauthenticated int
}

// The defaults of Limits.
const (
	// DefaultMaxPacket holds a batch of 10,000 points (the most one
	// message may carry) of about 400 bytes each.
	DefaultMaxPacket = 4 << 20
	// DefaultMaxConnectPacket is far above what a device's CONNECT needs
	// (an ident and a credential of under 100 bytes each, a few
	// properties), yet MaxUnauthenticated of them hold only 16 MiB.
	DefaultMaxConnectPacket = 16 << 10
	// DefaultConnectTimeout leaves a device on a slow mobile link time for
	// a TLS handshake and its CONNECT.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxUnauthenticated is more than a fleet reconnecting at once
	// after an outage keeps pending (each CONNECT is checked in a few
	// milliseconds), and bounds what a flood of idle sockets can hold.
	DefaultMaxUnauthenticated = 1024
)

// withDefaults is l with every zero limit at its default.
func (l Limits) withDefaults() Limits {
	if l.MaxPacket <= 0 {
		l.MaxPacket = DefaultMaxPacket
	}
	if l.MaxConnectPacket <= 0 {
		l.MaxConnectPacket = DefaultMaxConnectPacket
	}
	if l.ConnectTimeout <= 0 {
		l.ConnectTimeout = DefaultConnectTimeout
	}
	if l.MaxUnauthenticated <= 0 {
		l.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	return l
}

// gate is the broker's listener: it holds every connection to Limits
// until the connection authenticates, below mochi, which would otherwise
// wait for a CONNECT forever and allocate whatever length one declares.
type gate struct {
	net.Listener
	limits Limits
	// pending counts the connections not yet authenticated.
	pending atomic.Int64
	// refuse counts and logs a connection closed by the gate.
	refuse func(reason string, remote net.Addr, why string)
}

// Accept returns the next connection within MaxUnauthenticated, with the
// CONNECT deadline set; those over it are closed at once.
func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if g.pending.Add(1) > int64(g.limits.MaxUnauthenticated) {
			g.pending.Add(-1)
			g.refuse(metrics.Unauthenticated, c.RemoteAddr(), fmt.Sprintf("%d connections have not authenticated yet", g.limits.MaxUnauthenticated))
			c.Close() // after counting: whoever sees it closed sees it counted
			continue
		}
		// mochi replaces the deadline with the device's keepalive once it
		// has read the CONNECT.
		if err := c.SetDeadline(time.Now().Add(g.limits.ConnectTimeout)); err != nil {
			g.pending.Add(-1)
			c.Close()
			continue
		}
		return &gatedConn{Conn: c, g: g}, nil
	}
}

// errRefused ends a connection the gate refused.
var errRefused = errors.New("connection refused before authentication")

// gatedConn is a connection the gate accepted. Only mochi's reading
// goroutine reads it.
type gatedConn struct {
	net.Conn
	g *gate
	// checked is set once the first packet's fixed header was read and
	// found to be a CONNECT within MaxConnectPacket; head holds its bytes,
	// not yet handed to mochi.
	checked bool
	head    []byte
	// admitted is set once the connection no longer counts as pending:
	// it authenticated, or it closed.
	admitted atomic.Bool
}

// Read checks the CONNECT's fixed header before mochi sees any of it.
func (c *gatedConn) Read(p []byte) (int, error) {
	if !c.checked {
		if err := c.checkConnect(); err != nil {
			return 0, err
		}
	}
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	return n, c.failed(err)
}

// checkConnect reads the first packet's fixed header (a type byte and a
// length of 1 to 4 bytes) and refuses anything but a CONNECT within
// MaxConnectPacket.
func (c *gatedConn) checkConnect() error {
	var head [5]byte
	n := 0
	for n < 2 || head[n-1]&0x80 != 0 {
		if n == len(head) {
			return c.refuse(metrics.Malformed, "the packet length is longer than 4 bytes")
		}
		if _, err := io.ReadFull(c.Conn, head[n:n+1]); err != nil {
			return c.failed(err)
		}
		n++
	}
	if head[0]>>4 != packets.Connect {
		return c.refuse(metrics.Malformed, "the first packet is not a CONNECT")
	}
	length := 0
	for i, b := range head[1:n] {
		length |= int(b&0x7f) << (7 * i)
	}
	if length > c.g.limits.MaxConnectPacket {
		return c.refuse(metrics.TooLarge, fmt.Sprintf("a CONNECT of %d bytes is over the limit of %d", length, c.g.limits.MaxConnectPacket))
	}
	c.checked, c.head = true, append([]byte(nil), head[:n]...)
	return nil
}

// failed passes on a read error, counting a connection that ran out of
// time for its CONNECT.
func (c *gatedConn) failed(err error) error {
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.admitted.Load() {
		c.g.refuse(metrics.ConnectTimeout, c.RemoteAddr(), fmt.Sprintf("no CONNECT within %s", c.g.limits.ConnectTimeout))
	}
	return err
}

// refuse closes the connection before mochi reads its packet.
func (c *gatedConn) refuse(reason, why string) error {
	c.g.refuse(reason, c.RemoteAddr(), why)
	c.Close()
	return errRefused
}

// admit stops counting the connection as pending: it authenticated.
func (c *gatedConn) admit() {
	if c.admitted.CompareAndSwap(false, true) {
		c.g.pending.Add(-1)
	}
}

// Close closes the connection and frees its place among the pending.
func (c *gatedConn) Close() error {
	c.admit()
	return c.Conn.Close()
}

// refuseConnection counts and logs a connection the gate closed.
func (b *Broker) refuseConnection(reason string, remote net.Addr, why string) {
	b.cfg.Metrics.Refuse("mqtt", reason)
	b.cfg.Logger.Info("mqtt: connection refused", "remote", remote.String(), "reason", why)
}
