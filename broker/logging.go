package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"
)

// maxLogValue bounds, in bytes, each value the broker writes to its log.
const maxLogValue = 256

// boundedHandler summarises every value before it reaches the log: what a
// device sends is the attacker's to choose, and mochi logs a refused packet
// whole (a refused 1 MiB publish once made a 4 MB line). A packet becomes
// its type, topic and sizes; any other value is cut to maxLogValue bytes.
type boundedHandler struct{ slog.Handler }

// boundLogger returns a logger that writes through l bounded.
func boundLogger(l *slog.Logger) *slog.Logger {
	return slog.New(boundedHandler{l.Handler()})
}

func (h boundedHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, summarize(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(boundAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h boundedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(as))
	for i, a := range as {
		bounded[i] = boundAttr(a)
	}
	return boundedHandler{h.Handler.WithAttrs(bounded)}
}

func (h boundedHandler) WithGroup(name string) slog.Handler {
	return boundedHandler{h.Handler.WithGroup(name)}
}

// boundAttr is a with its value summarised.
func boundAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, summarize(v.String()))
	case slog.KindGroup:
		group := v.Group()
		bounded := make([]any, len(group))
		for i, g := range group {
			bounded[i] = boundAttr(g)
		}
		return slog.Group(a.Key, bounded...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case packets.Packet:
			return slog.String(a.Key, packetSummary(&x))
		case *packets.Packet:
			return slog.String(a.Key, packetSummary(x))
		case []byte:
			return slog.String(a.Key, summarize(string(x)))
		case error:
			return slog.String(a.Key, summarize(x.Error()))
		default:
			return slog.String(a.Key, summarize(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// summarize returns s whole if it is at most maxLogValue bytes, or else
// its start and its length, valid UTF-8 either way.
func summarize(s string) string {
	if len(s) <= maxLogValue {
		return strings.ToValidUTF8(s, "?")
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.ToValidUTF8(s[:maxLogValue], "?"), len(s))
}

// packetSummary names a packet without its payload.
func packetSummary(pk *packets.Packet) string {
	return fmt.Sprintf("%s topic=%q qos=%d retain=%t packet_id=%d payload=%d bytes",
		packets.PacketNames[pk.FixedHeader.Type], summarize(pk.TopicName), pk.FixedHeader.Qos, pk.FixedHeader.Retain, pk.PacketID, len(pk.Payload))
}
