package broker_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// mqttString is s as MQTT writes a string: its length, then its bytes.
func mqttString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// TestStopWhileDevicesLeave stops a broker while devices are connected and
// half of them are leaving: Run must return, and every device be let go.
// mochi's Close deadlocked now and then when a device left as it ran; the
// broker now lets devices go before it closes.
func TestStopWhileDevicesLeave(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	devices := make([]*qm.Device, 300)
	for i := range devices {
		devices[i] = &qm.Device{Ident: fmt.Sprintf("unit-%d", i)}
	}
	var tn *qm.Tenant
	var tokens []string
	if err = db.Setup(ctx); err == nil {
		tn, err = db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "drain", Name: "Drain", Tier: qm.TierPool})
	}
	if err == nil {
		tokens, err = db.Devices().RegisterDevices(ctx, devices)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if _, _, err := db.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
			t.Fatal(err)
		}
	}
	points := telemetry.NewPointWriter(db, time.Now, 0)
	defer points.Close()
	b := broker.New(broker.Config{Addr: "127.0.0.1:0", Points: ingest.NewIngester(ingest.Config{Store: points, Now: time.Now}),
		Auth: auth.New(auth.Config{Identity: db.Identity(), Tenants: db.Tenants(), Devices: db.Devices()})})
	runCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() { done <- b.Run(runCtx, ready) }()
	addr := (<-ready).String()
	conns := make([]net.Conn, len(devices))
	for i, d := range devices {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		body := mqttString(nil, "MQTT")
		body = append(body, 4, 0xC2, 0, 0) // 3.1.1; user name, password, clean session; no keep-alive
		body = mqttString(mqttString(mqttString(body, d.Ident), d.Ident), tokens[i])
		var ack [4]byte
		if _, err := c.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, ack[:]); err != nil || ack != [4]byte{0x20, 2, 0, 0} {
			t.Fatalf("connect %s: %x, %v", d.Ident, ack, err)
		}
		conns[i] = c
	}
	go func() {
		for _, c := range conns[:len(conns)/2] {
			c.Close()
		}
	}()
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for i, c := range conns[len(conns)/2:] {
		if _, err := c.Read(make([]byte, 64)); err == nil {
			// A DISCONNECT may come first; then the connection ends.
			_, err = io.ReadAll(c)
			if err != nil {
				t.Errorf("device %d: %v after the broker stopped", i, err)
			}
		}
	}
}
