package main

import (
	"os"
	"testing"

	"github.com/quartermaster/qm/bench"
)

// TestMain lets the test binary be a bench figure's child process, as the
// command is (bench runs itself to load the server from apart).
func TestMain(m *testing.M) {
	if bench.RunNeighbour() {
		return
	}
	os.Exit(m.Run())
}

func TestBrokerAddr(t *testing.T) {
	for raw, want := range map[string]string{
		"mqtt://broker.example:1884": "broker.example:1884",
		"mqtt://10.0.0.5":            "10.0.0.5:1883",
		"mqtt://[::1]:1883/":         "[::1]:1883",
		"broker.example:1883":        "",
		"mqtts://broker.example":     "",
		"mqtt://user:pw@broker:1883": "",
		"mqtt://broker:1883/x":       "",
	} {
		got, err := brokerAddr(raw)
		if want == "" && err == nil || want != "" && (err != nil || got != want) {
			t.Errorf("brokerAddr(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
