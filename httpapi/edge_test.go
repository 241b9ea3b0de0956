package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// edgeCase is a request the edge must refuse, and how.
type edgeCase struct {
	name   string
	method string
	path   func(tf *tenantFixture) string
	body   func(tf *tenantFixture) string
	status int
	code   string
	// field, when set, is the field the 422 must name; message is a piece
	// of the message.
	field   string
	message string
	// as, when set, sends the request instead of the tenant's admin.
	as func(tf *tenantFixture) principal
}

// edgeCases are requests every engine must refuse alike: text no engine
// may store, query strings the standard library would partly drop, shapes
// the body cannot have, routes and methods that do not exist.
var edgeCases = []edgeCase{
	{name: "NULInBody", method: "POST", path: tenantPath("/locations"), body: str(`{"name":"a\u0000b"}`),
		status: 422, code: "validation_failed", field: "name", message: "NUL"},
	{name: "InvalidUTF8InBody", method: "POST", path: tenantPath("/locations"), body: str("{\"name\":\"caf\xe9\"}"),
		status: 422, code: "validation_failed", field: "name", message: "UTF-8"},
	{name: "NULInNestedField", method: "PATCH", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID)(tf) },
		body: func(tf *tenantFixture) string { return `{"fields":{"` + tf.field.Key + `":"x\u0000"}}` }, status: 422, code: "validation_failed",
		field: "fields.", message: "NUL"},
	{name: "NULInKey", method: "PATCH", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID)(tf) },
		body: str(`{"fields":{"o\u0000s":"x"}}`), status: 422, code: "validation_failed", field: "fields.o\x00s", message: "key"},
	{name: "InvalidUTF8InArray", method: "POST", path: tenantPath("/roles"), body: str("{\"name\":\"r\",\"permissions\":[\"assets:read\",\"\xff\"]}"),
		status: 422, code: "validation_failed", field: "permissions[1]", message: "UTF-8"},
	{name: "NULInQuery", method: "GET", path: tenantPath("/locations?parent_id=%00"), status: 400, code: "bad_request", message: `"parent_id"`},
	{name: "InvalidUTF8InQuery", method: "GET", path: tenantPath("/assets?q=%FF"), status: 400, code: "bad_request", message: `"q"`},
	{name: "NULInPath", method: "GET", path: tenantPath("/locations/a%00b"), status: 400, code: "bad_request", message: "the path holds a NUL"},
	{name: "InvalidUTF8InPath", method: "DELETE", path: tenantPath("/roles/%FF"), status: 400, code: "bad_request", message: "the path is not valid UTF-8"},
	{name: "InvalidUTF8InPathOutsideRoutes", method: "GET", path: static("/%C0%AF"), status: 400, code: "bad_request", message: "UTF-8"},
	{name: "SemicolonInQuery", method: "GET", path: tenantPath("/assets?sort=name;drop"), status: 400, code: "bad_request", message: "semicolon"},
	{name: "BadEscapeInQuery", method: "GET", path: tenantPath("/assets?q=%zz"), status: 400, code: "bad_request", message: "percent-escape"},
	{name: "UnknownQueryParameter", method: "GET", path: tenantPath("/assets?sortt=name"), status: 400, code: "bad_request", message: `"sortt"`},
	{name: "QueryOnRouteWithout", method: "GET", path: tenantPath("/models?name=x"), status: 400, code: "bad_request", message: "takes"},
	{name: "ArrayForObject", method: "POST", path: tenantPath("/locations"), body: str(`[{"name":"x"}]`),
		status: 400, code: "bad_request", message: "the body must be a JSON object"},
	{name: "StringForObject", method: "POST", path: tenantPath("/locations"), body: str(`"x"`),
		status: 400, code: "bad_request", message: "the body must be a JSON object"},
	{name: "NumberOutOfRange", method: "PATCH", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID)(tf) },
		body: str(`{"cost_cents":1e30}`), status: 400, code: "bad_request", message: "out of range"},
	{name: "WrongType", method: "POST", path: tenantPath("/locations"), body: str(`{"name":7}`),
		status: 400, code: "bad_request", message: `"name" must be a string`},
	{name: "CostBeyondRange", method: "POST", path: tenantPath("/assets"), body: asset(`"cost_cents":9223372036854775807`),
		status: 422, code: "validation_failed", field: "cost_cents"},
	{name: "NegativeCost", method: "PATCH", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID)(tf) },
		body: str(`{"cost_cents":-1}`), status: 422, code: "validation_failed", field: "cost_cents"},
	{name: "PurchaseDateBeyondRange", method: "POST", path: tenantPath("/assets"), body: asset(`"purchase_date":"9999-12-31","warranty_months":12`),
		status: 422, code: "validation_failed", field: "purchase_date"},
	{name: "PurchaseDateBeforeRange", method: "POST", path: tenantPath("/assets"), body: asset(`"purchase_date":"0001-01-01"`),
		status: 422, code: "validation_failed", field: "purchase_date"},
	{name: "WarrantyMonthsBeyondRange", method: "POST", path: tenantPath("/assets"), body: asset(`"warranty_months":1201`),
		status: 422, code: "validation_failed", field: "warranty_months"},
	{name: "ExpectedReturnBeyondRange", method: "POST", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID + "/checkout")(tf) },
		body: func(tf *tenantFixture) string {
			return `{"holder_type":"location","holder_id":"` + tf.location.ID + `","expected_return":"10000-01-01"}`
		}, status: 422, code: "validation_failed", field: "expected_return"},
	{name: "MaintenanceCostBeyondRange", method: "POST", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID + "/maintenances")(tf) },
		body: str(`{"kind":"repair","title":"x","started_on":"2026-01-01","cost_cents":10000000000001}`), status: 422, code: "validation_failed", field: "cost_cents"},
	{name: "MaintenanceDateBeyondRange", method: "POST", path: func(tf *tenantFixture) string { return tenantPath("/assets/" + tf.asset.ID + "/maintenances")(tf) },
		body: str(`{"kind":"repair","title":"x","started_on":"3000-01-01"}`), status: 422, code: "validation_failed", field: "started_on"},
	{name: "LicenseExpiryBeyondRange", method: "POST", path: tenantPath("/licenses"), body: str(`{"name":"x","seats":1,"expires_on":"1899-12-31"}`),
		status: 422, code: "validation_failed", field: "expires_on"},
	{name: "DepreciationMonthsBeyondRange", method: "POST", path: tenantPath("/depreciations"), body: str(`{"name":"x","months":1201}`),
		status: 422, code: "validation_failed", field: "months"},
	{name: "NULInTelemetry", method: "POST", path: static("/ingest/v1/points"), as: func(tf *tenantFixture) principal { return tf.deviceToken },
		body: func(*tenantFixture) string {
			return `[{"time":"` + time.Now().UTC().Format(time.RFC3339) + `","metrics":{"dtc":"P0\u0000301"}}]`
		}, status: 422, code: "validation_failed", field: "points[0]", message: "NUL"},
	{name: "UnknownRoute", method: "GET", path: static("/api/v1/nothing-here"), status: 404, code: "not_found"},
	{name: "UnknownRouteOutsideAPI", method: "GET", path: static("/nothing-here"), status: 404, code: "not_found"},
	{name: "WrongMethod", method: "PUT", path: tenantPath("/locations"), body: str(`{}`), status: 405, code: "method_not_allowed", message: "GET, POST"},
}

func str(s string) func(*tenantFixture) string { return func(*tenantFixture) string { return s } }

// asset is a body creating an asset of the fixture's model with more.
func asset(more string) func(*tenantFixture) string {
	return func(tf *tenantFixture) string { return `{"model_id":"` + tf.model.ID + `",` + more + `}` }
}

// TestEdge sends each edge case on both engines and checks the status, the
// one error shape, the field named, and that nothing was stored.
func TestEdge(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			a := f.a
			for _, tc := range edgeCases {
				t.Run(tc.name, func(t *testing.T) {
					before := f.snapshot(t, a)
					body := ""
					if tc.body != nil {
						body = tc.body(a)
					}
					who := a.admin
					if tc.as != nil {
						who = tc.as(a)
					}
					res := f.do(t, who, tc.method, tc.path(a), body)
					e := mustErrorShape(t, res)
					if res.Code != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.message) {
						t.Fatalf("got %d %s, want %d %s with %q", res.Code, res.Body, tc.status, tc.code, tc.message)
					}
					if tc.field != "" && !hasFieldPrefix(e.Fields, tc.field) {
						t.Fatalf("fields %v do not name %q", e.Fields, tc.field)
					}
					if f.snapshot(t, a) != before {
						t.Fatal("a refused request changed data")
					}
				})
			}
			t.Run("AllowHeader", func(t *testing.T) {
				res := f.do(t, a.admin, "DELETE", tenantPath("/locations")(a), "")
				if got := res.Header().Get("Allow"); got != "GET, POST, HEAD" {
					t.Fatalf("Allow: got %q, want %q", got, "GET, POST, HEAD")
				}
			})
			t.Run("BoundsAreInclusive", func(t *testing.T) {
				res := f.do(t, a.admin, "POST", tenantPath("/assets")(a), asset(`"cost_cents":10000000000000,"purchase_date":"2999-12-31","warranty_months":1200`)(a))
				if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"warranty_end":"3099-12-30"`) {
					t.Fatalf("largest values: got %d %s, want 201 with warranty_end 3099-12-30", res.Code, res.Body)
				}
			})
			t.Run("ImportChecksTheSameBounds", func(t *testing.T) {
				before := f.snapshot(t, a)
				csv := "Asset Tag,Model,Category,Purchase Date,Purchase Cost\n" +
					"FAR-1,Edge model,Edge category,9999-12-31,1\n" +
					"RICH-1,Edge model,Edge category,2026-01-01,200000000000\n"
				res := f.doType(t, a.admin, "POST", tenantPath("/assets/import")(a), csv, "text/csv")
				if !strings.Contains(res.Body.String(), "purchase date must be a date") || !strings.Contains(res.Body.String(), "cost_cents must be from 0") {
					t.Fatalf("import: got %d %s, want both rows refused, naming why", res.Code, res.Body)
				}
				if f.snapshot(t, a) != before {
					t.Fatal("an import of bad rows changed data")
				}
			})
			t.Run("QueryAndPathEscapesStillWork", func(t *testing.T) {
				if res := f.do(t, a.admin, "GET", tenantPath("/assets?q=caf%C3%A9&sort=-name")(a), ""); res.Code != http.StatusOK {
					t.Fatalf("a valid UTF-8 query: %d %s", res.Code, res.Body)
				}
			})
		})
	}
}

// apiError is the one error shape, read back.
type apiError struct {
	Code, Message string
	Fields        map[string]string
	RequestID     string `json:"request_id"`
}

// mustErrorShape reads an error response, failing unless it is the one
// JSON error shape.
func mustErrorShape(t *testing.T, res *httptest.ResponseRecorder) apiError {
	t.Helper()
	if ct := res.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json: %s", ct, res.Body)
	}
	var body struct {
		Error *apiError `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(res.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil || body.Error.Code == "" || body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("not the error shape (%v): %s", err, res.Body)
	}
	return *body.Error
}

func hasFieldPrefix(fields map[string]string, prefix string) bool {
	for k := range fields {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
