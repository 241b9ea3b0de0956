package httpapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/storetest"
)

// TestImportFiles sends files as real exports give them to the import API
// on each engine: a file as old Excel for Mac saves a Snipe-IT export
// (storetest.RealExport) imports with encoding=macintosh and no other
// edit, at once and as a job; files that cannot import are refused with
// the reason, bad rows that stop an import answer 422 with the report.
func TestImportFiles(t *testing.T) {
	for _, be := range []backend{backends[0], backends[2]} {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be)
			export, err := os.ReadFile(storetest.RealExport())
			if err != nil {
				t.Fatal(err)
			}
			post := func(who principal, query, body string) (*http.Response, string) {
				t.Helper()
				res := f.doType(t, who, "POST", "/api/v1/t/tenant-a/assets/import"+query, body, "text/csv")
				return res.Result(), res.Body.String()
			}
			for _, tc := range []struct {
				name, query, body string
				status            int
				says              string
			}{
				{"NotUTF8", "", string(export), 400, `line 2, column 1 (\"Full Name\") is not UTF-8`},
				{"UnknownEncoding", "?encoding=klingon", string(export), 422, `unknown encoding \"klingon\"`},
				{"UnknownDateFormat", "?date_format=YYYY", string(export), 422, `date format \"YYYY\"`},
				{"NUL", "", "Model Name,Category,Serial Number\nM,C,AB\x00C\n", 400, `line 2, column 3 (\"Serial Number\") holds a NUL byte`},
				{"NoRows", "", "Model Name,Category\r,\r", 422, "no rows"},
				{"AmbiguousDates", "", "Model Name,Category,Purchase Date\nM,C,03/04/2025\nM,C,05/06/2025\n", 422, "Purchase Date: no date in the column tells"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if res, body := post(f.a.admin, tc.query, tc.body); res.StatusCode != tc.status || !strings.Contains(body, tc.says) {
						t.Fatalf("got %d %s, want %d saying %s", res.StatusCode, body, tc.status, tc.says)
					}
				})
			}
			t.Run("BadRowsStop", func(t *testing.T) {
				res, body := post(f.a.admin, "", "Asset Tag,Model Name,Category,Purchase Cost\nST-1,M,C,1\nST-2,M,C,lots\n")
				var got struct {
					Error  struct{ Code string }
					Report qm.ImportReport
				}
				json.Unmarshal([]byte(body), &got)
				if res.StatusCode != http.StatusUnprocessableEntity || got.Error.Code != qm.EInvalid || got.Report.Committed ||
					got.Report.Failed != 1 || got.Report.Problems[0].Line != 3 {
					t.Fatalf("got %d %s, want 422 with the report", res.StatusCode, body)
				}
			})
			t.Run("BareQuoteSkipped", func(t *testing.T) {
				res, body := post(f.a.admin, "?skip_bad_rows=true", "Asset Tag,Model Name,Category,Item Name\nBQ-1,M,C,a\nBQ-2,M,C,27\" screen\nBQ-3,M,C,c\n")
				var rep qm.ImportReport
				json.Unmarshal([]byte(body), &rep)
				if res.StatusCode != http.StatusOK || !rep.Committed || rep.Created != 2 || rep.Failed != 1 || rep.Problems[0].Line != 3 {
					t.Fatalf("got %d %s, want the line with the quote skipped and the rest imported", res.StatusCode, body)
				}
			})
			t.Run("RealExport", func(t *testing.T) {
				res, body := post(f.a.admin, "?encoding=macintosh", string(export))
				var rep qm.ImportReport
				if err := json.Unmarshal([]byte(body), &rep); err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("got %d %s", res.StatusCode, body)
				}
				storetest.CheckRealExport(t, &rep)
				if body := f.do(t, f.a.admin, "GET", "/api/v1/t/tenant-a/assets?q=MR-0001", "").Body.String(); !strings.Contains(body, `"name":"Zoë’s laptop"`) ||
					!strings.Contains(body, `"purchase_date":"2016-04-05"`) {
					t.Fatalf("imported asset: %s", body)
				}
			})
			t.Run("RealExportJob", func(t *testing.T) {
				res := f.doType(t, f.b.admin, "POST", "/api/v1/t/tenant-b/imports?encoding=macintosh", string(export), "text/csv")
				if res.Code != http.StatusAccepted {
					t.Fatalf("got %d %s", res.Code, res.Body)
				}
				job := f.waitImport(t, f.b.admin, res.Header().Get("Location"))
				if job.Status != qm.ImportDone || job.Report == nil || job.RowsRead != 7 {
					t.Fatalf("job: %+v", job)
				}
				storetest.CheckRealExport(t, job.Report)
			})
		})
	}
}
