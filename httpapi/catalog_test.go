package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// The catalog's vocabulary names every reference list with its path and
// kinds, so a console builds its forms from it.
func TestCatalogVocabulary(t *testing.T) {
	f := newFixture(t, backends[0])
	tf := f.a
	res := f.do(t, tf.admin, "GET", "/api/v1/t/"+tf.t.Slug+"/catalog", "")
	if res.Code != http.StatusOK {
		t.Fatalf("GET catalog: %d %s", res.Code, res.Body)
	}
	type list struct {
		Name, Path, Noun string
		Kinds            []string
		DefaultKind      string `json:"default_kind"`
	}
	var v struct {
		ReferenceLists    []list   `json:"reference_lists"`
		FieldTypes        []string `json:"field_types"`
		SeatAssigneeTypes []string `json:"seat_assignee_types"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(v.ReferenceLists, func(l list) bool { return l.Name == "status_labels" })
	if i < 0 || v.ReferenceLists[i].Path != "status-labels" || !slices.Contains(v.ReferenceLists[i].Kinds, "deployable") {
		t.Errorf("status labels: %+v", v.ReferenceLists)
	}
	if !slices.Contains(v.FieldTypes, "choice") || !slices.Equal(v.SeatAssigneeTypes, []string{"user", "asset"}) {
		t.Errorf("field types %v, seat assignees %v", v.FieldTypes, v.SeatAssigneeTypes)
	}
}
