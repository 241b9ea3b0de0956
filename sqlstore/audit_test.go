package sqlstore

import (
	"testing"
	"time"
)

func TestChanges(t *testing.T) {
	type item struct {
		Name    string         `json:"name"`
		Note    *string        `json:"note"`
		Count   int64          `json:"count,omitempty"`
		Tags    []string       `json:"tags,omitempty"`
		Extra   map[string]any `json:"extra,omitempty"`
		Secret  string         `json:"secret,omitempty"`
		Updated time.Time      `json:"updated_at"`
	}
	note := `says "hi", {not: json} \ done`
	for _, tc := range []struct {
		name          string
		before, after any
		want          string
	}{
		{"Creation", nil, &item{Name: "HQ", Count: 1 << 60, Secret: "s", Updated: time.Now()},
			`{"count":{"before":null,"after":1152921504606846976},"name":{"before":null,"after":"HQ"}}`},
		{"Update", &item{Name: "HQ", Tags: []string{"a,b", "c]"}, Note: &note}, &item{Name: "Head office", Tags: []string{"a,b", "c]"}, Note: &note},
			`{"name":{"before":"HQ","after":"Head office"}}`},
		{"NestedAndEscaped", &item{Name: "x", Extra: map[string]any{"k": []any{1, "}"}}}, &item{Name: "x", Note: &note, Extra: map[string]any{"k": []any{1, "{"}, "q\"<": true}},
			`{"extra":{"before":{"k":[1,"}"]},"after":{"k":[1,"{"],"q\"\u003c":true}},"note":{"before":null,"after":"says \"hi\", {not: json} \\ done"}}`},
		{"Deletion", &item{Name: "HQ"}, nil, `{"name":{"before":"HQ","after":null},"note":{"before":null,"after":null}}`},
		{"Unchanged", &item{Name: "HQ", Updated: time.Now()}, &item{Name: "HQ"}, `{}`},
		{"Map", map[string]any{"a\\b": 1, "gone": "x"}, map[string]any{"a\\b": 2}, `{"a\\b":{"before":1,"after":2},"gone":{"before":"x","after":null}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Changes(tc.before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := Changes(nil, []string{"not", "an object"}); err == nil {
		t.Error("got no error for an array, want one")
	}
}
