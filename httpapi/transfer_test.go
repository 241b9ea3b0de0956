package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTransferredDeviceHistory moves a device from tenant A to tenant B
// through the operator's API, on every engine and tier: A keeps reading
// the history it owns, read-only, and sees nothing of B; B reads only its
// own points; a third tenant sees nothing at all.
func TestTransferredDeviceHistory(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			a, b := f.a, f.b
			c := f.mustTenant(t, be.tier, "tenant-c")
			dev, token := f.mustDevice(t, a.t)
			at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
			send := func(token string, from time.Time, n int) {
				t.Helper()
				var pts []string
				for i := range n {
					pts = append(pts, fmt.Sprintf(`{"time":"%s","lat":52.5,"lon":13.4,"speed_kmh":40,"metrics":{"battery_pct":%d}}`,
						from.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), 90-i))
				}
				if res := f.do(t, principal{bearer: token}, "POST", "/ingest/v1/points", "["+strings.Join(pts, ",")+"]"); res.Code != http.StatusOK {
					t.Fatalf("ingest: %d %s", res.Code, res.Body)
				}
			}
			send(token, at, 3)
			if res := f.do(t, a.admin, "PATCH", "/api/v1/t/tenant-a/devices/"+dev.Ident, `{"name":"Van 7"}`); res.Code != http.StatusOK {
				t.Fatalf("name: %d %s", res.Code, res.Body)
			}
			res := f.do(t, f.operator, "POST", "/api/v1/operator/devices/"+dev.Ident+"/assign", `{"tenant":"tenant-b"}`)
			var moved struct{ Token string }
			if err := json.Unmarshal(res.Body.Bytes(), &moved); err != nil || res.Code != http.StatusOK || moved.Token == "" {
				t.Fatalf("transfer: %d %s", res.Code, res.Body)
			}
			send(moved.Token, at.Add(time.Hour), 2)

			path := func(tenant, rest string) string { return "/api/v1/t/" + tenant + "/devices/" + dev.Ident + rest }
			count := func(who principal, tenant string) int {
				t.Helper()
				res := f.do(t, who, "GET", path(tenant, "/points"), "")
				var page struct{ Points []json.RawMessage }
				if err := json.Unmarshal(res.Body.Bytes(), &page); err != nil || res.Code != http.StatusOK {
					t.Fatalf("%s's points: %d %s", tenant, res.Code, res.Body)
				}
				return len(page.Points)
			}
			if n := count(a.viewer, "tenant-a"); n != 3 {
				t.Errorf("A reads %d points, want its own 3", n)
			}
			if n := count(b.viewer, "tenant-b"); n != 2 {
				t.Errorf("B reads %d points, want its own 2", n)
			}
			list := f.do(t, a.viewer, "GET", "/api/v1/t/tenant-a/devices", "").Body.String()
			if !strings.Contains(list, `"ident":"`+dev.Ident+`"`) || !strings.Contains(list, `"custody":"transferred"`) ||
				!strings.Contains(list, `"held_until":`) || !strings.Contains(list, `"name":"Van 7"`) {
				t.Errorf("A's list: %s", list)
			}
			if strings.Contains(list, b.t.ID) {
				t.Errorf("A's list names B: %s", list)
			}
			for _, rest := range []string{"", "/latest", "/trips", "/aggregates?metric=battery_pct&bucket=1h&from=" + at.Add(-time.Minute).Format(time.RFC3339)} {
				if res := f.do(t, a.viewer, "GET", path("tenant-a", rest), ""); res.Code != http.StatusOK || strings.Contains(res.Body.String(), b.t.ID) {
					t.Errorf("A reads %s: %d %s", rest, res.Code, res.Body)
				}
			}
			if res := f.do(t, a.admin, "PATCH", path("tenant-a", ""), `{"name":"still mine"}`); res.Code != http.StatusConflict || !strings.Contains(res.Body.String(), "no longer be changed") {
				t.Errorf("A changes a device it gave up: %d %s", res.Code, res.Body)
			}
			if res := f.do(t, b.admin, "PATCH", path("tenant-b", ""), `{"name":"B's van"}`); res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"custody":"held"`) {
				t.Errorf("B changes its device: %d %s", res.Code, res.Body)
			}
			for _, rest := range []string{"", "/latest", "/points", "/trips", "/aggregates?metric=battery_pct"} {
				if res := f.do(t, c.viewer, "GET", path("tenant-c", rest), ""); res.Code != http.StatusNotFound {
					t.Errorf("C reads %s: %d %s", rest, res.Code, res.Body)
				}
			}
			if list := f.do(t, c.viewer, "GET", "/api/v1/t/tenant-c/devices", "").Body.String(); strings.Contains(list, dev.Ident) {
				t.Errorf("C's list: %s", list)
			}
		})
	}
}
