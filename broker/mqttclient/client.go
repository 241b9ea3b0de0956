// Package mqttclient is a small MQTT 3.1.1 client for the server's own
// connections to an external broker: it connects, subscribes and
// unsubscribes, publishes at QoS 0 or 1, and hands each message it receives to a handler that
// acknowledges it (PUBACK) when it chooses, which is what the server needs
// to acknowledge telemetry only after it is stored. Packets are encoded
// and decoded by mochi-mqtt's packets package, already a dependency for
// the embedded broker; paho, the usual client, acknowledges a message as
// its handler returns unless told otherwise per client and brings its own
// reconnect logic we would have to turn off, so these few hundred lines
// are the smaller thing to trust.
package mqttclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Options say how to connect.
type Options struct {
	// Addr is the broker, host:port.
	Addr string
	// ClientID names the session; Username and Password authenticate.
	ClientID, Username, Password string
	// CleanSession false keeps the session (subscriptions, messages not
	// acknowledged) while the client is away.
	CleanSession bool
	// KeepAlive is how often the client shows it is alive (0: 30s).
	KeepAlive time.Duration
	// OnMessage receives each PUBLISH, on the client's reading goroutine:
	// it must not block for long. A QoS 1 message is acknowledged only
	// when its Ack is called. Nil: messages are dropped unacknowledged.
	OnMessage func(*Message)
}

// Message is a PUBLISH the client received.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Dup is set when the broker sent it before.
	Dup bool
	id  uint16
	c   *Client
}

// Ack acknowledges the message to the broker (PUBACK), once it is handled;
// nothing for QoS 0. It may be called from any goroutine.
func (m *Message) Ack() error {
	if m.QoS == 0 {
		return nil
	}
	return m.c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m.id})
}

// Client is one connection to a broker. It does not reconnect: when Done
// is closed, Err says why, and the caller dials again.
type Client struct {
	conn      net.Conn
	opts      Options
	writeMu   sync.Mutex
	mu        sync.Mutex
	nextID    uint16
	pending   map[uint16]chan packets.Packet // PUBACK, SUBACK or UNSUBACK awaited
	done      chan struct{}
	err       error
	closing   atomic.Bool
	closeOnce sync.Once
}

// ErrClosed is Err of a client closed by Close.
var ErrClosed = errors.New("mqtt: connection closed")

const protocol311 = 4

// Dial connects and authenticates. sessionPresent reports whether the
// broker kept a session for the client id.
func Dial(ctx context.Context, opts Options) (c *Client, sessionPresent bool, err error) {
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 30 * time.Second
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, false, fmt.Errorf("mqtt: %w", err)
	}
	c = &Client{conn: conn, opts: opts, pending: map[uint16]chan packets.Packet{}, done: make(chan struct{})}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: protocol311,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: opts.ClientID, Clean: opts.CleanSession,
			Keepalive: uint16(opts.KeepAlive / time.Second), UsernameFlag: opts.Username != "", Username: []byte(opts.Username),
			PasswordFlag: opts.Password != "", Password: []byte(opts.Password)}}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReader(conn)
	if err := c.write(&pk); err != nil {
		conn.Close()
		return nil, false, err
	}
	ack, err := readPacket(r)
	if err == nil && ack.FixedHeader.Type != packets.Connack {
		err = fmt.Errorf("mqtt: got %s, want Connack", packets.PacketNames[ack.FixedHeader.Type])
	}
	if err == nil && ack.ReasonCode != 0 {
		err = &RefusedError{Code: ack.ReasonCode}
	}
	if err != nil || !stop() {
		conn.Close()
		return nil, false, errors.Join(err, ctx.Err())
	}
	conn.SetDeadline(time.Time{})
	go c.read(r)
	go c.keepAlive()
	return c, ack.SessionPresent, nil
}

// RefusedError is a CONNACK refusing the connection.
type RefusedError struct{ Code byte }

func (e *RefusedError) Error() string {
	reasons := map[byte]string{1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
		4: "bad user name or password", 5: "not authorized"}
	return fmt.Sprintf("mqtt: connection refused: %s (%d)", reasons[e.Code], e.Code)
}

// readPacket reads and decodes one packet.
func readPacket(r *bufio.Reader) (packets.Packet, error) {
	var pk packets.Packet
	hb, err := r.ReadByte()
	if err != nil {
		return pk, fmt.Errorf("mqtt: read: %w", err)
	}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return pk, fmt.Errorf("mqtt: %w", err)
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		return pk, fmt.Errorf("mqtt: read: %w", err)
	}
	pk.FixedHeader.Remaining = n
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return pk, fmt.Errorf("mqtt: read: %w", err)
	}
	pk.ProtocolVersion = protocol311
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(buf)
	case packets.Publish:
		err = pk.PublishDecode(buf)
	case packets.Puback:
		err = pk.PubackDecode(buf)
	case packets.Suback:
		err = pk.SubackDecode(buf)
	case packets.Unsuback:
		err = pk.UnsubackDecode(buf)
	case packets.Pingresp:
	default:
		err = fmt.Errorf("unexpected %s", packets.PacketNames[pk.FixedHeader.Type])
	}
	if err != nil {
		return pk, fmt.Errorf("mqtt: %w", err)
	}
	return pk, nil
}

// read takes packets until the connection fails.
func (c *Client) read(r *bufio.Reader) {
	for {
		c.conn.SetReadDeadline(time.Now().Add(c.opts.KeepAlive * 3 / 2))
		pk, err := readPacket(r)
		if err != nil {
			c.fail(err)
			return
		}
		switch pk.FixedHeader.Type {
		case packets.Publish:
			m := &Message{Topic: pk.TopicName, Payload: pk.Payload, QoS: pk.FixedHeader.Qos, Retain: pk.FixedHeader.Retain,
				Dup: pk.FixedHeader.Dup, id: pk.PacketID, c: c}
			if c.opts.OnMessage != nil {
				c.opts.OnMessage(m)
			}
		case packets.Puback, packets.Suback, packets.Unsuback:
			c.mu.Lock()
			ch := c.pending[pk.PacketID]
			delete(c.pending, pk.PacketID)
			c.mu.Unlock()
			if ch != nil {
				ch <- pk
			}
		}
	}
}

// keepAlive pings the broker, which would otherwise close a connection
// that only receives.
func (c *Client) keepAlive() {
	tick := time.NewTicker(c.opts.KeepAlive / 2)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			if err := c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}}); err != nil {
				return
			}
		}
	}
}

// write sends one packet.
func (c *Client) write(pk *packets.Packet) error {
	pk.ProtocolVersion = protocol311
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	}
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(c.opts.KeepAlive))
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.fail(err)
		return fmt.Errorf("mqtt: write: %w", err)
	}
	return nil
}

// fail closes the connection for err, once.
func (c *Client) fail(err error) {
	if c.closing.Load() {
		err = ErrClosed
	}
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		c.conn.Close()
		close(c.done)
	})
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended, once Done is closed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close says goodbye and closes the connection. Messages not acknowledged
// stay with the session, for the broker to send again.
func (c *Client) Close() error {
	c.closing.Store(true)
	c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	c.fail(ErrClosed)
	return nil
}

// request sends a packet that the broker answers with the same packet id
// and waits for the answer.
func (c *Client) request(ctx context.Context, pk *packets.Packet) (packets.Packet, error) {
	// Nothing is sent for a context already done: its answer could come
	// before the select below saw it done.
	if err := ctx.Err(); err != nil {
		return packets.Packet{}, err
	}
	ch := make(chan packets.Packet, 1)
	c.mu.Lock()
	// Ids count down from the top: a broker numbers what it sends from
	// the bottom, and some (mochi) refuse an id that their own messages
	// to the client still hold, although the two directions' ids are
	// apart in the protocol.
	for {
		c.nextID--
		if _, taken := c.pending[c.nextID]; c.nextID != 0 && !taken {
			break
		}
	}
	pk.PacketID = c.nextID
	c.pending[pk.PacketID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, pk.PacketID)
		c.mu.Unlock()
	}
	if err := c.write(pk); err != nil {
		forget()
		return packets.Packet{}, err
	}
	select {
	case ack := <-ch:
		return ack, nil
	case <-c.done:
		forget()
		return packets.Packet{}, c.Err()
	case <-ctx.Done():
		forget()
		return packets.Packet{}, ctx.Err()
	}
}

// Subscribe subscribes to filter at qos and waits until the broker
// grants it; an error when it refuses (SUBACK 0x80: its ACL said no).
func (c *Client) Subscribe(ctx context.Context, filter string, qos byte) error {
	ack, err := c.request(ctx, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1},
		Filters: packets.Subscriptions{{Filter: filter, Qos: qos}}})
	if err != nil {
		return err
	}
	if len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] > 2 {
		return fmt.Errorf("mqtt: subscription to %s refused (%v)", filter, ack.ReasonCodes)
	}
	return nil
}

// Unsubscribe ends the subscription to filter and waits until the broker
// confirms it: from then on the broker queues nothing more for it in the
// session, and sends only what it queued before.
func (c *Client) Unsubscribe(ctx context.Context, filter string) error {
	_, err := c.request(ctx, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1},
		Filters: packets.Subscriptions{{Filter: filter}}})
	return err
}

// Publish sends a message; at QoS 1 it returns once the broker has
// acknowledged it.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain}, TopicName: topic, Payload: payload}
	if qos == 0 {
		return c.write(pk)
	}
	_, err := c.request(ctx, pk)
	return err
}
