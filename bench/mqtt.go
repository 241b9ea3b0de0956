package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// mqttConn is a minimal MQTT 3.1.1 client: just enough to connect and to
// publish at QoS 1, so the load it makes costs little beside the broker's.
type mqttConn struct {
	c  net.Conn
	r  *bufio.Reader
	id uint16
}

func appendString(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

func appendLength(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 128
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// dialMQTT connects as user with password and waits for the CONNACK.
func dialMQTT(addr, clientID, user, password string) (*mqttConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	body := appendString(nil, "MQTT")
	body = append(body, 4, 0xC2, 0, 0) // level 4; user name, password, clean session; no keep-alive
	body = appendString(appendString(appendString(body, clientID), user), password)
	pkt := append(appendLength([]byte{0x10}, len(body)), body...)
	m := &mqttConn{c: c, r: bufio.NewReaderSize(c, 64)}
	if _, err := c.Write(pkt); err != nil {
		c.Close()
		return nil, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(m.r, ack[:]); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		c.Close()
		return nil, fmt.Errorf("connect %s: refused (%v, %x)", user, err, ack)
	}
	return m, nil
}

// publish sends payload to topic at QoS 1 and waits for the PUBACK.
func (m *mqttConn) publish(topic string, payload []byte) error {
	m.id++
	if m.id == 0 {
		m.id = 1
	}
	body := binary.BigEndian.AppendUint16(appendString(nil, topic), m.id)
	pkt := append(appendLength([]byte{0x32}, len(body)+len(payload)), body...)
	if _, err := m.c.Write(append(pkt, payload...)); err != nil {
		return err
	}
	var ack [4]byte
	if _, err := io.ReadFull(m.r, ack[:]); err != nil {
		return err
	}
	if ack[0] != 0x40 || binary.BigEndian.Uint16(ack[2:]) != m.id {
		return fmt.Errorf("want PUBACK %d, got %x", m.id, ack)
	}
	return nil
}

// mqttWorld is a broker on e with n devices of one pool tenant.
type mqttWorld struct {
	b      *broker.Broker
	addr   string
	idents []string
	tokens []string
	stop   func()
}

func newMQTTWorld(ctx context.Context, e engine, slug string, n int) (*mqttWorld, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: "MQTT", Tier: qm.TierPool})
	if err != nil {
		return nil, err
	}
	w := &mqttWorld{idents: make([]string, n), tokens: make([]string, n)}
	devices := make([]*qm.Device, n)
	for i := range devices {
		devices[i] = &qm.Device{Ident: fmt.Sprintf("%s-%d", slug, i)}
		w.idents[i] = devices[i].Ident
	}
	if w.tokens, err = e.Devices().RegisterDevices(ctx, devices); err != nil {
		return nil, err
	}
	for _, d := range devices {
		if _, _, err := e.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
			return nil, err
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	points := telemetry.NewPointWriter(e, time.Now, 0)
	w.b = broker.New(broker.Config{Addr: "127.0.0.1:0", Logger: quiet, Points: ingest.NewIngester(ingest.Config{Store: points, Now: time.Now}),
		Auth: auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices()})})
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- w.b.Run(runCtx, ready) }()
	select {
	case addr := <-ready:
		w.addr = addr.String()
	case err := <-done:
		cancel()
		return nil, err
	}
	w.stop = func() { cancel(); <-done; points.Close() }
	return w, nil
}

// mqttPublish measures QoS 1 publishes of one point each from devices
// connected devices at once, each waiting for its PUBACK before the next.
func mqttPublish(ctx context.Context, e engine, name string, devices int, d time.Duration) (Result, error) {
	w, err := newMQTTWorld(ctx, e, "mqtt-load", devices)
	if err != nil {
		return Result{}, err
	}
	defer w.stop()
	conns := make([]*mqttConn, devices)
	for i := range conns {
		if conns[i], err = dialMQTT(w.addr, w.idents[i], w.idents[i], w.tokens[i]); err != nil {
			return Result{}, err
		}
		defer conns[i].c.Close()
	}
	base := time.Now().Add(-time.Hour)
	var (
		mu     sync.Mutex
		all    Sample
		count  atomic.Int64
		failed error
		wg     sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := "devices/" + w.idents[i] + "/telemetry"
			var mine Sample
			for n := 0; time.Now().Before(deadline); n++ {
				payload := []byte(`{"time":"` + base.Add(time.Duration(n)*time.Millisecond).Format(time.RFC3339Nano) +
					`","lat":52.52,"lon":13.405,"metrics":{"battery_v":13.9,"seq":` + strconv.Itoa(n) + `}}`)
				if err := mine.Time(func() error { return c.publish(topic, payload) }); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				count.Add(1)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failed != nil {
		return Result{}, failed
	}
	r := all.Result(fmt.Sprintf("MQTT QoS 1 publish, 1 point each, %d devices, %s pool", devices, name),
		map[string]string{"sqlite": "≥ 20000 messages/s", "postgres": "≥ 10000 messages/s"}[name])
	r.Rate, r.Unit = float64(count.Load())/time.Since(start).Seconds(), "messages/s"
	return r, nil
}

// idleClientsEnv, in a child process's environment, makes it hold idle
// MQTT connections (see HoldIdleClients).
const idleClientsEnv = "QM_BENCH_IDLE_MQTT"

// mqttIdleMemory measures the broker's memory per connected, idle device:
// the heap and stacks of this process before and after devices connect.
// The clients run in a child process, so their sockets and memory are not
// counted, and the two processes' file limits are not shared.
func mqttIdleMemory(ctx context.Context, e engine, name string, devices int) (Result, error) {
	w, err := newMQTTWorld(ctx, e, "mqtt-idle", devices)
	if err != nil {
		return Result{}, err
	}
	defer w.stop()
	before := inUse()
	exe, err := os.Executable()
	if err != nil {
		return Result{}, err
	}
	var creds strings.Builder
	for i := range w.idents {
		fmt.Fprintf(&creds, "%s %s\n", w.idents[i], w.tokens[i])
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), idleClientsEnv+"="+w.addr)
	cmd.Stdin = strings.NewReader(creds.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "connected "+strconv.Itoa(devices) {
		return Result{}, fmt.Errorf("idle clients: %q, %v", line, err)
	}
	time.Sleep(time.Second) // let the broker settle
	after := inUse()
	per := (after - before) / int64(devices)
	return Result{Name: fmt.Sprintf("MQTT memory per idle connected device, %d devices, %s pool", devices, name), N: devices,
		Rate: float64(per) / 1024, Unit: "KiB each", Target: "≤ 20 KiB each"}, nil
}

// inUse is the heap and goroutine stacks in use, after collections: a few,
// as an idle server has over a few minutes, so stacks grown while a
// device connected have shrunk back.
func inUse() int64 {
	for range 5 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// HoldIdleClients is the child process of the idle-memory figure: when its
// environment names a broker, it connects one client for each "ident
// token" line of stdin, prints "connected N", and holds the connections
// until it is killed. It reports whether it ran (it returns only when not).
func HoldIdleClients() bool {
	addr := os.Getenv(idleClientsEnv)
	if addr == "" {
		return false
	}
	sc := bufio.NewScanner(os.Stdin)
	var conns []*mqttConn
	for sc.Scan() {
		ident, token, _ := strings.Cut(sc.Text(), " ")
		c, err := dialMQTT(addr, ident, ident, token)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Printf("connected %d\n", len(conns))
	select {} // the parent kills us
}
