// Package mqtttest finds the MQTT command-line clients (Mosquitto's) tests
// drive a broker with, and starts a Mosquitto 2 of a test's own.
package mqtttest

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartermaster/qm/internal/poll"
)

// Client returns the path of an MQTT command-line client (mosquitto_pub,
// mosquitto_sub); it skips the test when there is none, and fails it under
// CI=true (make test installs mosquitto-clients).
func Client(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing and CI=true: install mosquitto-clients (make test does)", name)
		}
		t.Skipf("%s is missing; install mosquitto-clients", name)
	}
	return p
}

// Broker is a Mosquitto 2 of a test's own, with the dynamic security
// plugin: Addr is where it listens, AdminUser and AdminPassword its dynsec
// admin.
type Broker struct {
	Addr, AdminUser, AdminPassword string
	// Log is the broker's log file.
	Log string
}

// Mosquitto starts a Mosquitto 2 with dynamic security on a free loopback
// port, its configuration, state and log in a directory of the test's,
// and stops it when the test ends. It skips the test when Mosquitto is
// missing, and fails it under CI=true (make test installs it).
func Mosquitto(t testing.TB) *Broker {
	t.Helper()
	bin, ctrl := lookMosquitto(t)
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{AdminUser: "quartermaster", AdminPassword: "test-admin-password", Log: filepath.Join(dir, "mosquitto.log")}
	if out, err := exec.Command(ctrl, "dynsec", "init", filepath.Join(dir, "dynsec.json"), b.AdminUser, b.AdminPassword).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_ctrl dynsec init: %v\n%s", err, out)
	}
	// A port free now may be taken before Mosquitto binds it, by a test
	// beside this one: then Mosquitto exits, and another port is tried.
	for attempt := 0; ; attempt++ {
		b.Addr = FreeAddr(t)
		_, port, _ := net.SplitHostPort(b.Addr)
		conf := strings.Join([]string{
			// Run as root, Mosquitto would become user mosquitto, who
			// cannot read the test's directory.
			"user " + me.Username,
			"per_listener_settings false",
			"listener " + port + " 127.0.0.1",
			"allow_anonymous false",
			"plugin " + dynsecPlugin,
			"plugin_opt_config_file " + filepath.Join(dir, "dynsec.json"),
			"persistence true",
			"persistence_location " + dir + "/",
			"autosave_interval 0",
			"max_inflight_messages 100",
			"max_queued_messages 100000",
			"log_dest file " + b.Log,
			// Not every packet: connections, dynsec commands and
			// subscriptions, which tests wait for.
			"log_type error", "log_type warning", "log_type notice", "log_type information", "log_type subscribe",
			""}, "\n")
		if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", filepath.Join(dir, "mosquitto.conf"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		up := false
		poll.Until(t, "Mosquitto listens on "+b.Addr, func() (bool, error) {
			select {
			case <-exited:
				return true, nil
			default:
			}
			c, err := net.Dial("tcp", b.Addr)
			if err == nil {
				c.Close()
				up = true
			}
			return up, nil
		})
		if up {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return b
		}
		if attempt == 3 {
			log, _ := os.ReadFile(b.Log)
			t.Fatalf("Mosquitto did not start:\n%s", log)
		}
	}
}

// dynsecPlugin is where Debian's mosquitto package puts the plugin.
const dynsecPlugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"

// lookMosquitto finds mosquitto and mosquitto_ctrl.
func lookMosquitto(t testing.TB) (bin, ctrl string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/mosquitto")
	}
	if err == nil {
		ctrl, err = exec.LookPath("mosquitto_ctrl")
	}
	if err == nil {
		_, err = os.Stat(dynsecPlugin)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Mosquitto 2 is missing and CI=true: install Debian's mosquitto (make test does): %v", err)
		}
		t.Skipf("Mosquitto 2 is missing; install Debian's mosquitto: %v", err)
	}
	return bin, ctrl
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for a test's own listener.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
