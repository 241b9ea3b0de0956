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
