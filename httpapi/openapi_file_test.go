package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/quartermaster/qm/httpapi"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite ui/openapi.json from the route table")

// TestOpenAPIFile keeps the console's copy of the API description, from
// which its client types are generated, equal to the API's: a change to
// the API shows up there, and `npm run check` tells whether the console
// still compiles against it. `make openapi` rewrites it.
func TestOpenAPIFile(t *testing.T) {
	want, err := json.MarshalIndent(httpapi.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	const file = "../ui/openapi.json"
	if *updateOpenAPI {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not the API's description; run make openapi, then npm run check in ui/", file)
	}
}
