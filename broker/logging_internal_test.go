package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestBoundedLog(t *testing.T) {
	var out bytes.Buffer
	log := boundLogger(slog.New(slog.NewTextHandler(&out, nil))).With("sent", strings.Repeat("w", 1<<20))
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: "devices/x/telemetry", Payload: bytes.Repeat([]byte("p"), 1<<20)}
	log.Info(strings.Repeat("m", 1<<20), "pk", pk, "ptr", &pk, "bytes", pk.Payload, "text", strings.Repeat("é", 1<<19),
		slog.Group("g", "inner", strings.Repeat("i", 1<<20)))
	line := out.String()
	if len(line) > 4096 {
		t.Fatalf("a log line of %d bytes: %.300s", len(line), line)
	}
	for _, want := range []string{`Publish topic=\"devices/x/telemetry\" qos=1`, "payload=1048576 bytes", "(1048576 bytes)"} {
		if !strings.Contains(line, want) {
			t.Errorf("the line lacks %q: %s", want, line)
		}
	}
	if !utf8.ValidString(line) {
		t.Errorf("the line is not valid UTF-8: %s", line)
	}
}
