package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
)

// exportJob is an export job as the API answers it.
type exportJob struct {
	ID       string `json:"id"`
	Tenant   string `json:"tenant"`
	State    string `json:"state"`
	Progress struct {
		Table string `json:"table"`
		N     int    `json:"n"`
		Total int    `json:"total"`
	} `json:"progress"`
	Error     string    `json:"error"`
	ExpiresAt time.Time `json:"expires_at"`
	Bytes     int64     `json:"bytes"`
}

// backgroundJob is a job the operator follows, as the API answers it.
type backgroundJob interface {
	exportJob | moveJob
	running() bool
}

func (j exportJob) running() bool { return j.State == "running" }
func (j moveJob) running() bool   { return j.State == "running" }

// mustJobEnd waits until the job at path is no longer running, and
// returns it.
func mustJobEnd[J backgroundJob](t *testing.T, f *fixture, path string) J {
	t.Helper()
	var j J
	poll.Until(t, path+" ends", func() (bool, error) {
		res := f.do(t, f.operator, "GET", path, "")
		if res.Code != http.StatusOK {
			return false, fmt.Errorf("GET the job: %d %s", res.Code, res.Body)
		}
		var zero J
		j = zero
		if err := json.Unmarshal(res.Body.Bytes(), &j); err != nil {
			return false, err
		}
		return !j.running(), nil
	})
	return j
}

// settleJob is a cross-tenant case's settle for a route that starts a job
// whose path is at plus its id: it waits until the job ends.
func settleJob[J backgroundJob](at string) func(t *testing.T, f *fixture, who principal, res *httptest.ResponseRecorder) {
	return func(t *testing.T, f *fixture, who principal, res *httptest.ResponseRecorder) {
		var started struct {
			ID string `json:"id"`
		}
		json.Unmarshal(res.Body.Bytes(), &started)
		mustJobEnd[J](t, f, at+started.ID)
	}
}

// mustExportEnd waits until export id is no longer running, and returns
// it.
func (f *fixture) mustExportEnd(t *testing.T, id string) exportJob {
	t.Helper()
	return mustJobEnd[exportJob](t, f, "/api/v1/operator/exports/"+id)
}

// mustExport exports tf through the API and waits until it is done.
func (f *fixture) mustExport(t *testing.T, tf *tenantFixture) exportJob {
	t.Helper()
	res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/"+tf.t.Slug+"/exports", "")
	if res.Code != http.StatusAccepted {
		t.Fatalf("start an export: got %d %s, want 202", res.Code, res.Body)
	}
	var j exportJob
	if err := json.Unmarshal(res.Body.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j = f.mustExportEnd(t, j.ID); j.State != "done" {
		t.Fatalf("export %s: %s (%s), want done", j.ID, j.State, j.Error)
	}
	return j
}

// archives holds an archive of each tenant fixture, made by mustArchive,
// for the cross-tenant case of the import route, whose body cannot reach
// the fixture.
var archives sync.Map // *tenantFixture → []byte

// mustArchive exports tf, gzipped, for archiveOf.
func (f *fixture) mustArchive(t *testing.T, tf *tenantFixture) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := lifecycle.Export(t.Context(), f.e, tf.t.Slug, zw, lifecycle.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archives.Store(tf, buf.Bytes())
}

// archiveOf is the archive mustArchive made of tf, nil before.
func archiveOf(tf *tenantFixture) []byte {
	b, _ := archives.Load(tf)
	body, _ := b.([]byte)
	return body
}

// clock is a time the test moves on.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// assetsOf lists a tenant's assets as its admin sees them: tag and name
// by id.
func assetsOf(t *testing.T, f *fixture, who principal, slug string) map[string]string {
	t.Helper()
	res := f.do(t, who, "GET", "/api/v1/t/"+slug+"/assets?limit=500", "")
	if res.Code != http.StatusOK {
		t.Fatalf("assets of %s: %d %s", slug, res.Code, res.Body)
	}
	var page struct {
		Assets []qm.Asset `json:"assets"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range page.Assets {
		out[a.ID] = a.Tag + " " + a.Name
	}
	return out
}

// TestExportImport exports a tenant through the API as the operator,
// downloads its archive, imports it under a new slug, and finds the same
// assets there; and checks who may, how long an archive is kept, and
// that a damaged archive makes no tenant.
func TestExportImport(t *testing.T) {
	for _, be := range []backend{backends[0], backends[1], backends[2], backends[4]} {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			var now clock
			var dir string
			f := newFixtureWith(t, be, func(c *httpapi.Config) { c.Now, dir = now.Now, c.ExportDir })
			a := f.a
			for i := range 3 {
				body := fmt.Sprintf(`{"name":"Laptop %d","model_id":%q}`, i, a.model.ID)
				if res := f.do(t, a.admin, "POST", tenantPath("/assets")(a), body); res.Code != http.StatusCreated {
					t.Fatalf("create an asset: %d %s", res.Code, res.Body)
				}
			}
			want := assetsOf(t, f, a.admin, a.t.Slug)

			j := f.mustExport(t, a)
			if j.Tenant != a.t.Slug || j.Bytes == 0 || j.Progress.Total == 0 || j.Progress.N != j.Progress.Total {
				t.Fatalf("the export done: %+v", j)
			}
			if res := f.do(t, f.operator, "GET", "/api/v1/operator/exports?tenant="+a.t.Slug, ""); !bytes.Contains(res.Body.Bytes(), []byte(j.ID)) {
				t.Fatalf("the list of exports lacks %s: %d %s", j.ID, res.Code, res.Body)
			}
			res := f.do(t, f.operator, "GET", "/api/v1/operator/exports/"+j.ID+"/archive", "")
			if res.Code != http.StatusOK || res.Header().Get("Content-Type") != "application/gzip" {
				t.Fatalf("download: %d %q", res.Code, res.Header().Get("Content-Type"))
			}
			_, params, _ := mime.ParseMediaType(res.Header().Get("Content-Disposition"))
			if name := a.t.Slug + "-" + now.Now().UTC().Format("2006-01-02") + ".qmx.gz"; params["filename"] != name {
				t.Errorf("download's name: got %q, want %q", params["filename"], name)
			}
			archive := res.Body.Bytes()
			if int64(len(archive)) != j.Bytes {
				t.Errorf("download: got %d bytes, the job says %d", len(archive), j.Bytes)
			}

			t.Run("ImportServesTheSameAssets", func(t *testing.T) {
				target := fmt.Sprintf("/api/v1/operator/imports?slug=copy-%d&tier=%s", nextSlug(), be.tier)
				res := f.doType(t, f.operator, "POST", target, string(archive), "application/gzip")
				if res.Code != http.StatusCreated {
					t.Fatalf("import: got %d %s, want 201", res.Code, res.Body)
				}
				var got struct {
					Tenant qm.Tenant             `json:"tenant"`
					Report qm.TenantImportReport `json:"report"`
				}
				if err := json.Unmarshal(res.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.Tenant.State != qm.StateActive || got.Tenant.Tier != be.tier || len(got.Report.Tables) == 0 ||
					!slices.Contains(got.Report.Members, "admin@"+a.t.Slug+".example") {
					t.Fatalf("import: %s", res.Body)
				}
				for _, inv := range got.Report.Invited {
					if inv.Link == "" || inv.Link[0] == '/' {
						t.Errorf("invitation link %q is not whole", inv.Link)
					}
				}
				copied := assetsOf(t, f, a.admin, got.Tenant.Slug)
				if len(copied) != len(want) {
					t.Fatalf("the import serves %d assets, the tenant %d", len(copied), len(want))
				}
				for id, v := range want {
					if copied[id] != v {
						t.Errorf("asset %s: got %q, want %q", id, copied[id], v)
					}
				}
			})

			t.Run("TenantAdminRefused", func(t *testing.T) {
				for _, who := range []principal{a.admin, a.adminToken} {
					for _, req := range [][2]string{
						{"POST", "/api/v1/operator/tenants/" + a.t.Slug + "/exports"},
						{"GET", "/api/v1/operator/exports/" + j.ID},
						{"GET", "/api/v1/operator/exports/" + j.ID + "/archive"},
						{"GET", "/api/v1/operator/exports"},
					} {
						if res := f.do(t, who, req[0], req[1], ""); res.Code != http.StatusForbidden && res.Code != http.StatusNotFound {
							t.Errorf("%s %s as %s: got %d, want 403 or 404", req[0], req[1], who.name, res.Code)
						}
					}
					res := f.doType(t, who, "POST", "/api/v1/operator/imports?slug=by-admin", string(archive), "application/gzip")
					if res.Code != http.StatusForbidden {
						t.Errorf("import as %s: got %d, want 403", who.name, res.Code)
					}
				}
			})

			t.Run("DamagedArchiveRefused", func(t *testing.T) {
				flipped := slices.Clone(archive)
				flipped[len(flipped)/2] ^= 0xff
				for name, body := range map[string][]byte{
					"flipped":   flipped,
					"truncated": archive[:len(archive)/2],
					"not one":   []byte("this is not an archive at all"),
				} {
					slug := fmt.Sprintf("broken-%d", nextSlug())
					res := f.doType(t, f.operator, "POST", "/api/v1/operator/imports?slug="+slug, string(body), "application/gzip")
					if res.Code != http.StatusUnprocessableEntity {
						t.Errorf("%s: got %d %s, want 422", name, res.Code, res.Body)
					}
					if res := f.do(t, f.operator, "GET", "/api/v1/operator/tenants/"+slug, ""); res.Code != http.StatusNotFound {
						t.Errorf("%s: tenant %s: got %d, want 404", name, slug, res.Code)
					}
				}
			})

			t.Run("UnknownOrExpiredNotFound", func(t *testing.T) {
				for _, p := range []string{"/api/v1/operator/exports/nothing-here", "/api/v1/operator/exports/nothing-here/archive"} {
					if res := f.do(t, f.operator, "GET", p, ""); res.Code != http.StatusNotFound {
						t.Errorf("GET %s: got %d, want 404", p, res.Code)
					}
				}
				if res := f.do(t, f.operator, "POST", "/api/v1/operator/tenants/no-such-tenant/exports", ""); res.Code != http.StatusNotFound {
					t.Errorf("export of no tenant: got %d, want 404", res.Code)
				}
				now.advance(j.ExpiresAt.Sub(now.Now()) + time.Minute)
				for _, p := range []string{"/api/v1/operator/exports/" + j.ID, "/api/v1/operator/exports/" + j.ID + "/archive"} {
					if res := f.do(t, f.operator, "GET", p, ""); res.Code != http.StatusNotFound {
						t.Errorf("GET %s after its expiry: got %d, want 404", p, res.Code)
					}
				}
				if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
					t.Errorf("the export directory after every export expired: %v %v", entries, err)
				}
			})
		})
	}
}
