package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm/httpapi"
)

// spec is the OpenAPI description, read back as JSON.
var spec = func() map[string]any {
	b, _ := json.Marshal(httpapi.OpenAPI())
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}()

// patterns finds the route a request matched.
var patterns = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range httpapi.Routes {
		mux.HandleFunc(rt.Method+" "+rt.Path, func(http.ResponseWriter, *http.Request) {})
	}
	return mux
}()

// checkResponse validates a response against the description: the success
// status with its schema, or an error in the one error shape. Every request
// the HTTP tests make goes through it.
func checkResponse(t testing.TB, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	canon := r.Clone(r.Context())
	canon.URL.Path, canon.URL.RawPath = strings.ToLower(path.Clean("/"+r.URL.Path)), ""
	_, pattern := patterns.Handler(canon)
	method, route, ok := strings.Cut(pattern, " ")
	if !ok {
		return // no route: TestEdge checks the error shape
	}
	item, _ := spec["paths"].(map[string]any)[route].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Errorf("openapi: %s is not described", pattern)
		return
	}
	responses := op["responses"].(map[string]any)
	resp, ok := responses[strconv.Itoa(w.Code)].(map[string]any)
	if !ok {
		if w.Code < 400 {
			t.Errorf("openapi: %s answered %d, which is not described", pattern, w.Code)
			return
		}
		resp = responses["default"].(map[string]any)
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if w.Body.Len() != 0 {
			t.Errorf("openapi: %s %d has a body, described as none", pattern, w.Code)
		}
		return
	}
	if _, described := content[mediaOf(w)]; described && mediaOf(w) != "application/json" {
		return // a file, in one of the media described
	}
	if _, isJSON := content["application/json"]; !isJSON {
		for media := range content {
			if !strings.HasPrefix(w.Header().Get("Content-Type"), media) {
				t.Errorf("openapi: %s %d: Content-Type %q, described as %s", pattern, w.Code, w.Header().Get("Content-Type"), media)
			}
		}
		return
	}
	var body any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Errorf("openapi: %s %d: body is not JSON: %v", pattern, w.Code, err)
		return
	}
	schema := content["application/json"].(map[string]any)["schema"]
	if err := validate(schema, body, "$"); err != nil {
		t.Errorf("openapi: %s %d: %v\n%s", pattern, w.Code, err, w.Body)
	}
}

// mediaOf is the media type of a response, without its parameters.
func mediaOf(w *httptest.ResponseRecorder) string {
	media, _, _ := strings.Cut(w.Header().Get("Content-Type"), ";")
	return strings.TrimSpace(media)
}

// validate checks v against the JSON Schema subset the description uses.
func validate(schema, v any, at string) error {
	s, _ := schema.(map[string]any)
	if _, ok := s["$ref"]; ok {
		return validate(component(s), v, at)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, alt := range alts {
			if validate(alt, v, at) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: %v matches none of %v", at, v, alts)
	}
	if typ, ok := s["type"]; ok {
		types, _ := typ.([]any)
		if name, ok := typ.(string); ok {
			types = []any{name}
		}
		if !slices.Contains(types, any(jsonType(v))) && !(jsonType(v) == "integer" && slices.Contains(types, any("number"))) {
			return fmt.Errorf("%s: got %s, want %v", at, jsonType(v), types)
		}
	}
	if s["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil {
			return fmt.Errorf("%s: %q is not a date-time", at, v)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, req := range asSlice(s["required"]) {
			if _, ok := v[req.(string)]; !ok {
				return fmt.Errorf("%s: required %q is missing", at, req)
			}
		}
		for k, val := range v {
			sub, ok := props[k]
			if !ok {
				if extra, isSchema := s["additionalProperties"].(map[string]any); isSchema {
					sub = extra
				} else if s["additionalProperties"] == false {
					return fmt.Errorf("%s: %q is not described", at, k)
				} else {
					continue
				}
			}
			if err := validate(sub, val, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range v {
			if err := validate(s["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// component is the schema a $ref names, or schema itself.
func component(schema any) map[string]any {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		c, _ := spec["components"].(map[string]any)["schemas"].(map[string]any)[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return c
	}
	return s
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

func TestOpenAPI(t *testing.T) {
	f := newFixture(t, backends[0])
	res := f.do(t, principal{}, "GET", "/api/v1/openapi.json", "")
	var served map[string]any
	if err := json.Unmarshal(res.Body.Bytes(), &served); err != nil || served["openapi"] != "3.1.0" {
		t.Fatalf("served description: %v", err)
	}
	for _, rt := range httpapi.Routes {
		op, ok := served["paths"].(map[string]any)[rt.Path].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
		if !ok {
			t.Errorf("route %s %s is not described", rt.Method, rt.Path)
			continue
		}
		if _, ok := op["responses"].(map[string]any)["default"]; !ok {
			t.Errorf("route %s %s: errors are not described", rt.Method, rt.Path)
		}
		params := map[string]bool{}
		for _, p := range asSlice(op["parameters"]) {
			params[p.(map[string]any)["name"].(string)] = true
		}
		if slices.ContainsFunc(listRoutes(), func(l httpapi.Route) bool { return key(l) == key(rt) }) {
			if !params["limit"] || !params["after"] {
				t.Errorf("list %s %s: limit and after are not described", rt.Method, rt.Path)
			}
			reply := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
			for _, want := range []string{"total", "next"} {
				if _, ok := component(reply)["properties"].(map[string]any)[want]; !ok {
					t.Errorf("list %s %s: the reply does not describe %s", rt.Method, rt.Path, want)
				}
			}
		}
	}
	t.Run("ValidatorCatchesDrift", func(t *testing.T) {
		loc := map[string]any{"$ref": "#/components/schemas/Location"}
		for _, bad := range []string{`{"id":1}`, `{"name":"x"}`,
			`{"id":"x","name":"x","created_at":"yesterday","updated_at":"2026-01-01T00:00:00Z"}`,
			`{"id":"x","name":"x","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","tenant_id":"y"}`} {
			var v any
			json.Unmarshal([]byte(bad), &v)
			if validate(loc, v, "$") == nil {
				t.Errorf("%s passed as a Location", bad)
			}
		}
	})
}
