package mqttclient_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm/broker/mqttclient"
	"github.com/quartermaster/qm/internal/poll"
)

// broker starts a mochi broker on a free port that lets user "u" with
// password "p" in, and returns its address.
func broker(t *testing.T) string {
	t.Helper()
	srv := mqtt.New(&mqtt.Options{InlineClient: true})
	if err := srv.AddHook(new(password), nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return addr
}

// password lets in whoever says user "u", password "p".
type password struct{ mqtt.HookBase }

func (password) ID() string { return "password" }

func (password) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (password) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	return string(pk.Connect.Username) == "u" && bytes.Equal(pk.Connect.Password, []byte("p"))
}

func (password) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool { return true }

// TestAckAfter: a message the handler has not acknowledged when its
// session's connection ends is sent again on the next connection of the
// session; one acknowledged is not.
func TestAckAfter(t *testing.T) {
	addr := broker(t)
	ctx := t.Context()
	got := make(chan *mqttclient.Message, 10)
	opts := mqttclient.Options{Addr: addr, ClientID: "consumer", Username: "u", Password: "p", OnMessage: func(m *mqttclient.Message) { got <- m }}
	c, present, err := mqttclient.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if present {
		t.Fatal("got a session present at the first connection, want none")
	}
	if err := c.Subscribe(ctx, "devices/+/telemetry", 1); err != nil {
		t.Fatal(err)
	}
	pub, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: addr, ClientID: "device", Username: "u", Password: "p", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, body := range []string{"one", "two"} {
		if err := pub.Publish(ctx, "devices/d1/telemetry", []byte(body), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	first, second := receive(t, got), receive(t, got)
	if string(first.Payload) != "one" || string(second.Payload) != "two" || first.Topic != "devices/d1/telemetry" {
		t.Fatalf("got %s %q, %q, want devices/d1/telemetry one, two", first.Topic, first.Payload, second.Payload)
	}
	if err := first.Ack(); err != nil {
		t.Fatal(err)
	}
	// The broker answers a client's packets in order: once it grants
	// this subscription, it has the acknowledgement.
	if err := c.Subscribe(ctx, "barrier", 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !errors.Is(c.Err(), mqttclient.ErrClosed) {
		t.Fatalf("got Err %v, want ErrClosed", c.Err())
	}

	c, present, err = mqttclient.Dial(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !present {
		t.Fatal("got no session present, want the kept session")
	}
	again := receive(t, got)
	if string(again.Payload) != "two" || !again.Dup {
		t.Fatalf("got %q (dup %v) again, want two, marked dup", again.Payload, again.Dup)
	}
	if err := again.Ack(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("got %q a second time, want it once (it was acknowledged)", m.Payload)
	default:
	}
}

// TestUnsubscribe: after Unsubscribe returns, nothing more published to
// the filter reaches the client.
func TestUnsubscribe(t *testing.T) {
	addr := broker(t)
	ctx := t.Context()
	got := make(chan *mqttclient.Message, 10)
	c, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: addr, ClientID: "consumer", Username: "u", Password: "p", CleanSession: true,
		OnMessage: func(m *mqttclient.Message) { got <- m; m.Ack() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pub, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: addr, ClientID: "device", Username: "u", Password: "p", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for _, filter := range []string{"devices/+/telemetry", "barrier"} {
		if err := c.Subscribe(ctx, filter, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, "devices/d1/telemetry", []byte("before"), 1, false); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, got); string(m.Payload) != "before" {
		t.Fatalf("got %q, want before", m.Payload)
	}
	if err := c.Unsubscribe(ctx, "devices/+/telemetry"); err != nil {
		t.Fatal(err)
	}
	// The broker routes one client's messages in order: the barrier
	// comes after whatever it did with "after".
	for _, m := range []struct{ topic, body string }{{"devices/d1/telemetry", "after"}, {"barrier", "barrier"}} {
		if err := pub.Publish(ctx, m.topic, []byte(m.body), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if m := receive(t, got); string(m.Payload) != "barrier" {
		t.Fatalf("got %q on %s after unsubscribing, want only the barrier", m.Payload, m.Topic)
	}
}

// TestRefused: a wrong password and a refused subscription are errors.
func TestRefused(t *testing.T) {
	addr := broker(t)
	_, _, err := mqttclient.Dial(t.Context(), mqttclient.Options{Addr: addr, ClientID: "x", Username: "u", Password: "wrong", CleanSession: true})
	var refused *mqttclient.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("got %v, want a RefusedError", err)
	}
	c, _, err := mqttclient.Dial(t.Context(), mqttclient.Options{Addr: addr, ClientID: "x", Username: "u", Password: "p", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Subscribe(ctx, "a/b", 1); err == nil {
		t.Fatal("a subscription with its context done succeeded, want an error")
	}
}

func receive(t *testing.T, got <-chan *mqttclient.Message) *mqttclient.Message {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-poll.After(t):
		t.Fatal("gave up waiting for a message")
		return nil
	}
}
