package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/simulate"
)

func cmdSimulate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("simulate", stderr)
	slug := fs.String("tenant", "", "the tenant whose vehicles to simulate")
	n := fs.Int("devices", 5, "how many vehicles")
	protocol := fs.String("protocol", "http", "http, mqtt or osmand")
	rate := fs.Float64("rate", 1, "reports per second, per vehicle")
	// The defaults are where serve listens by default, or as QM_ADDR,
	// QM_OSMAND_ADDR and QM_MQTT_ADDR tell both.
	server := fs.String("server", "http://"+envOr("QM_ADDR", defaultAddr), "the API, for --protocol http (QM_ADDR)")
	osmand := fs.String("osmand", "http://"+envOr("QM_OSMAND_ADDR", defaultOsmAndAddr), "the OsmAnd listener, for --protocol osmand (QM_OSMAND_ADDR)")
	broker := fs.String("mqtt", "tcp://"+envOr("QM_MQTT_ADDR", defaultMQTTAddr), "the MQTT broker, for --protocol mqtt (QM_MQTT_ADDR)")
	duration := fs.Duration("duration", 0, "stop after this long (default: until interrupted)")
	reports := fs.Int("reports", 0, "stop once each vehicle has reported this many times (default: until interrupted)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 100000 || *rate <= 0 || *rate > 100 || *reports < 0 {
		return fmt.Errorf("--devices must be 1 to 100000, --rate above 0, at most 100, and --reports at least 0")
	}
	var sender simulate.Sender
	var target string
	client := &http.Client{Timeout: 10 * time.Second}
	switch *protocol {
	case "http":
		target = strings.TrimSuffix(*server, "/")
		sender = &simulate.HTTP{BaseURL: target, Client: client}
	case "osmand":
		target = strings.TrimSuffix(*osmand, "/")
		sender = &simulate.OsmAnd{BaseURL: target, Client: client}
	case "mqtt":
		target = *broker
		sender = &simulate.MQTT{Broker: target}
	default:
		return fmt.Errorf("--protocol must be http, mqtt or osmand, not %q", *protocol)
	}
	defer sender.Close()
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	vehicles, err := simVehicles(ctx, e, "sim", *slug, *n)
	e.Close()
	if err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stdout, "simulating %d vehicles of %s over %s to %s, %g reports a second each; Ctrl-C stops\n", len(vehicles), *slug, *protocol, target, *rate)
	var failed atomic.Int64
	delivered := simulate.Run(ctx, vehicles, sender, time.Duration(float64(time.Second) / *rate), *reports, func(err error) {
		if failed.Add(1) <= 5 {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
		}
	})
	fmt.Fprintf(stdout, "delivered %d points, %d failed\n", delivered, failed.Load())
	if delivered == 0 {
		// A run that stored nothing is a failure, whatever took the
		// connections: another broker on the port, a server of another
		// installation, the wrong protocol.
		return fmt.Errorf("no point was acknowledged by %s (%d sends failed): is it Quartermaster's %s listener, with this storage's devices?", target, failed.Load(), *protocol)
	}
	return nil
}

// simVehicles registers the tenant's simulated vehicles (PREFIX-SLUG-1, …),
// or takes them over with fresh credentials if they exist, and assigns them
// to the tenant.
func simVehicles(ctx context.Context, e engine, prefix, slug string, n int) ([]*simulate.Vehicle, error) {
	t, err := e.Tenants().Tenant(ctx, slug)
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", slug, err)
	}
	inv := e.Devices()
	now := time.Now()
	vehicles := make([]*simulate.Vehicle, n)
	for i := range vehicles {
		ident := simIdent(prefix, slug, i+1)
		d, err := inv.Device(ctx, ident)
		var token string
		switch qm.ErrorCode(err) {
		case qm.ENotFound:
			d = simDevice(ident)
			token, err = inv.RegisterDevice(ctx, d)
		case "":
			token, err = inv.RotateToken(ctx, d.ID)
		}
		if err != nil {
			return nil, err
		}
		if d.TenantID != t.ID {
			_, moved, err := inv.AssignDevice(ctx, d.ID, t)
			if err != nil {
				return nil, err
			}
			if moved != "" {
				token = moved
			}
		}
		vehicles[i] = simulate.NewVehicle(ident, token, 52.52, 13.405, uint64(i+1), now)
	}
	return vehicles, nil
}

// simIdent is the ident of a tenant's nth simulated vehicle (from 1).
func simIdent(prefix, slug string, n int) string {
	return prefix + "-" + slug + "-" + strconv.Itoa(n)
}

// simDevice is a simulated vehicle's device, to register.
func simDevice(ident string) *qm.Device {
	return &qm.Device{Ident: ident, Kind: qm.DeviceVehicle, Model: "Quartermaster simulator"}
}
