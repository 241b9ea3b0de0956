package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/internal/mqtttest"
)

// TestLimitsOverMQTT: the MQTT edge holds a tenant to its plan like the
// others, on every engine × tier: a device of a tenant without the fleet,
// past its month's points, or past its rate of messages is told "quota
// exceeded" (MQTT 5) and nothing is stored.
func TestLimitsOverMQTT(t *testing.T) {
	pub := mqtttest.Client(t, "mosquitto_pub")
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			a := f.a
			b := broker.New(broker.Config{Addr: "127.0.0.1:0", Auth: f.auth, Devices: f.e.Devices(), Points: f.ingester, Usage: f.meter, Logger: quiet})
			ctx, stop := context.WithCancel(context.Background())
			ready, done := make(chan net.Addr, 1), make(chan error, 1)
			go func() { done <- b.Run(ctx, ready) }()
			addr := <-ready
			t.Cleanup(func() { stop(); <-done })
			host, port, _ := net.SplitHostPort(addr.String())
			at := time.Now().Unix()
			publish := func(sec int64) (string, bool) {
				t.Helper()
				out, err := exec.Command(pub, "-h", host, "-p", port, "-V", "mqttv5", "-q", "1", "-u", a.device.Ident, "-P", a.deviceToken.bearer,
					"-i", a.device.Ident, "-t", "devices/"+a.device.Ident+"/telemetry",
					"-m", fmt.Sprintf(`{"time":"%s","lat":1,"lon":2}`, time.Unix(sec, 0).UTC().Format(time.RFC3339))).CombinedOutput()
				return string(out), err == nil && !strings.Contains(string(out), "failed")
			}
			latest := func() string {
				t.Helper()
				return f.do(t, a.admin, "GET", tenantPath("/devices/"+a.device.Ident+"/latest")(a), "").Body.String()
			}
			limit := func(body string) {
				t.Helper()
				mustStatus(t, f.do(t, f.operator, "PATCH", "/api/v1/operator/tenants/"+a.t.Slug+"/limits", body), http.StatusOK, body)
			}
			if out, ok := publish(at); !ok {
				t.Fatalf("a point on the default plan: %s", out)
			}
			before := latest()
			for _, c := range []struct{ name, set, unset string }{
				{"NoFleet", `{"set":{"features":["import"]}}`, `{"unset":["features"]}`},
				{"MonthUsedUp", `{"set":{"points_per_month":1}}`, `{"unset":["points_per_month"]}`},
				{"MessagesPastRate", `{"set":{"mqtt_messages_per_second":0.001}}`, `{"unset":["mqtt_messages_per_second"]}`},
			} {
				limit(c.set)
				if c.name == "MessagesPastRate" {
					publish(at + 1) // the one message the rate allows
					before = latest()
				}
				at += 10
				if out, ok := publish(at); ok {
					t.Errorf("%s: the publish was acknowledged: %s", c.name, out)
				}
				limit(c.unset) // the device's state is the fleet's to read
				if got := latest(); got != before {
					t.Errorf("%s: a refused point was stored: %s, was %s", c.name, got, before)
				}
			}
		})
	}
}
