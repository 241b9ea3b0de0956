// Package mqtttest finds the MQTT command-line clients (Mosquitto's) tests
// drive a broker with.
package mqtttest

import (
	"os"
	"os/exec"
	"testing"
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
