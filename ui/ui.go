// Package ui serves the web console: the single-page app that `npm run
// build` writes to dist/console, embedded in the binary. A binary built
// before the console was serves a page saying how to build it.
package ui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// dist holds the built console under console/; .gitkeep keeps the folder,
// so the package compiles before anything is built.
//
//go:embed all:dist
var dist embed.FS

// Options configures the console's handler.
type Options struct {
	// MapOrigins are origins besides the server's own that the console may
	// load map styles, tiles and glyphs from (an operator's --map-style).
	MapOrigins []string
}

// Handler serves the embedded console.
func Handler(o Options) http.Handler {
	sub, _ := fs.Sub(dist, "dist/console") // a constant, valid path
	return NewHandler(sub, o)
}

// NewHandler serves the console built into files: hashed assets (under
// assets/) cached for a year, other files revalidated each time, and
// index.html, never cached, for every other path, so the app's own routes
// load on a reload or from a bookmark. Every answer carries a strict
// Content-Security-Policy.
func NewHandler(files fs.FS, o Options) http.Handler {
	csp := contentSecurityPolicy(o.MapOrigins)
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = nil
	}
	zipped := &gzipCache{files: files}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the console takes GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		if index == nil {
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(notBuilt)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if f, err := fs.Stat(files, name); err == nil && !f.IsDir() {
				if strings.HasPrefix(name, "assets/") { // named by their content
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					h.Set("Cache-Control", "no-cache")
				}
				if gz := zipped.get(name); gz != nil && acceptsGzip(r) {
					h.Set("Content-Encoding", "gzip")
					h.Set("Vary", "Accept-Encoding")
					if ct := contentTypes[path.Ext(name)]; ct != "" {
						h.Set("Content-Type", ct)
					}
					http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(gz))
					return
				}
				http.ServeFileFS(w, r, files, name)
				return
			}
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				// A missing file is not a page of the app: an old build's
				// asset must fail, not load index.html as script.
				h.Set("Cache-Control", "no-store")
				http.NotFound(w, r)
				return
			}
		}
		h.Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
}

// contentTypes are the types of the files worth compressing.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
}

// gzipCache holds the gzipped form of each text file, made on first
// request: the files are embedded, so they never change.
type gzipCache struct {
	files fs.FS
	mu    sync.Mutex
	zips  map[string][]byte
}

// get returns the file gzipped, or nil for a file not worth it.
func (c *gzipCache) get(name string) []byte {
	if contentTypes[path.Ext(name)] == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gz, ok := c.zips[name]; ok {
		return gz
	}
	raw, err := fs.ReadFile(c.files, name)
	if err != nil || len(raw) < 1024 {
		return nil
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level
	zw.Write(raw)
	zw.Close()
	if c.zips == nil {
		c.zips = map[string][]byte{}
	}
	c.zips[name] = b.Bytes()
	return c.zips[name]
}

// acceptsGzip reports whether the client takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// contentSecurityPolicy allows the console's own script and styles and
// nothing inline; maps may load from the operator's tile origins, and run
// MapLibre's worker.
func contentSecurityPolicy(mapOrigins []string) string {
	extra := ""
	for _, o := range mapOrigins {
		extra += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:" + extra +
		"; font-src 'self'; connect-src 'self'" + extra + "; worker-src 'self' blob:; object-src 'none'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

var notBuilt = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quartermaster: console not built</title></head>
<body><h1>The console is not built into this binary</h1>
<p>The API is served under <a href="/api/v1/openapi.json">/api/v1</a>. To build the web console into the
binary, run <code>make build</code> (it runs <code>npm ci</code> and <code>npm run build</code> in
<code>ui/</code>, then <code>go build</code>).</p></body></html>
`)
