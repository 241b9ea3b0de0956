package httpapi

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"rsc.io/qr"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// Media types of label answers.
const (
	svgFile  = mediaFile("image/svg+xml")
	htmlFile = mediaFile("text/html")
)

// maxLabels bounds a label sheet.
const maxLabels = 200

// assetURL is where a label's QR code leads: the asset in the web UI.
func (s *Server) assetURL(t *qm.Tenant, a *qm.Asset) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/t/" + t.Slug + "/assets/" + a.ID
}

// qrSVG draws text as a QR code, one unit a module, inside a quiet zone of
// four modules. Black modules in a row are drawn as one rectangle.
func qrSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("qr code: %w", err)
	}
	n := code.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y := range code.Size {
		for x := 0; x < code.Size; {
			if !code.Black(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < code.Size && code.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+4, y+4, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil
}

// assetLabel answers an asset's label: a QR code of its URL, as SVG.
func (s *Server) assetLabel(w http.ResponseWriter, r *http.Request) error {
	t, err := tenancy.FromContext(r.Context())
	if err != nil {
		return err
	}
	a, err := s.svc.Assets.Asset(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	svg, err := qrSVG(s.assetURL(t, a))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", string(svgFile))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.svg"`, safeFilename(a.Tag)))
	_, err = w.Write([]byte(svg))
	return err
}

var sheet = template.Must(template.New("labels").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Asset labels</title>
<style>
@page { margin: 10mm }
body { font-family: sans-serif; margin: 0 }
.sheet { display: grid; grid-template-columns: repeat(3, 62mm); gap: 4mm }
.label { display: flex; align-items: center; gap: 3mm; border: 1px dashed #bbb; padding: 2mm; break-inside: avoid }
.label svg { width: 24mm; height: 24mm; flex: none }
.tag { font-weight: bold; font-size: 12pt } .name { font-size: 9pt; color: #333 }
</style></head><body><div class="sheet">
{{range .}}<div class="label">{{.QR}}<div><div class="tag">{{.Tag}}</div><div class="name">{{.Name}}</div></div></div>
{{end}}</div></body></html>
`))

// assetLabels answers a printable sheet of the labels of ?ids=a,b,c. An id
// the caller cannot see is not found, as everywhere.
func (s *Server) assetLabels(w http.ResponseWriter, r *http.Request) error {
	t, err := tenancy.FromContext(r.Context())
	if err != nil {
		return err
	}
	ids := strings.FieldsFunc(r.URL.Query().Get("ids"), func(c rune) bool { return c == ',' })
	if len(ids) == 0 || len(ids) > maxLabels {
		return qm.Errorf(qm.EBadRequest, "give 1 to %d asset ids in ids=, comma-separated", maxLabels)
	}
	type label struct {
		QR        template.HTML
		Tag, Name string
	}
	labels := make([]label, 0, len(ids))
	for _, id := range ids {
		a, err := s.svc.Assets.Asset(r.Context(), strings.TrimSpace(id))
		if err != nil {
			return err
		}
		svg, err := qrSVG(s.assetURL(t, a))
		if err != nil {
			return err
		}
		labels = append(labels, label{QR: svg, Tag: a.Tag, Name: a.Name})
	}
	w.Header().Set("Content-Type", string(htmlFile)+"; charset=utf-8")
	return sheet.Execute(w, labels)
}

// safeFilename keeps letters, digits, dots, hyphens and underscores.
func safeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
