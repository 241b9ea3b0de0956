package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quartermaster/qm"
)

func TestCheckJSONTextNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
	}{
		{"Top", `{"name":"a\u0000"}`, "name"},
		{"Nested", `{"fields":{"os":"\u0000"}}`, "fields.os"},
		{"Key", `{"fields":{"o\u0000":1}}`, "fields.o\x00"},
		{"ArrayItem", `{"a":[1,"x",{"b":"\u0000"}]}`, "a[2].b"},
		{"AfterNestedValue", `{"a":{"x":[1]},"b":"\u0000"}`, "b"},
		{"RootString", `"\u0000"`, "body"},
		{"RootArray", `["ok","\u0000"]`, "body[1]"},
		{"InvalidUTF8", "{\"a\":\"\xff\"}", "a"},
		{"InvalidUTF8Key", "{\"\xff\":1}", "\ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSONText([]byte(tc.body))
			var e *qm.Error
			if !errors.As(err, &e) || e.Code != qm.EInvalid {
				t.Fatalf("got %v, want a validation error", err)
			}
			if _, ok := e.Fields[tc.field]; !ok {
				t.Fatalf("got fields %q, want %q", e.Fields, tc.field)
			}
		})
	}
	for _, ok := range []string{`{"name":"café"}`, `{"a":"\\u0000"}`, `[]`, `{"a":[{"b":null}]}`} {
		if err := checkJSONText([]byte(ok)); err != nil {
			t.Errorf("%s: got %v, want nil", ok, err)
		}
	}
}

// FuzzCheckJSONText checks that a body checkJSONText passes decodes to
// text without NUL or invalid UTF-8, and that it never panics.
func FuzzCheckJSONText(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":["\u0000"]}`, "{\"a\":\"\xff\"}", `[{"k":{"x":1}},"y"]`, `{"a":`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := checkJSONText(raw)
		if err != nil || !json.Valid(raw) {
			return
		}
		var v any
		json.Unmarshal(raw, &v)
		if !utf8.Valid(raw) {
			t.Fatalf("passed invalid UTF-8: %q", raw)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				if strings.IndexByte(v, 0) >= 0 {
					t.Fatalf("passed NUL: %q", raw)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			case map[string]any:
				for k, x := range v {
					walk(k)
					walk(x)
				}
			}
		}
		walk(v)
	})
}
