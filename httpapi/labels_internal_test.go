package httpapi

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestQRSVG checks that the drawn SVG holds exactly the modules of the QR
// code of its text: the label leads where it says.
func TestQRSVG(t *testing.T) {
	const url = "https://qm.example/t/acme/assets/01a208c9-6f8f-73d6-9299-cd26dac33e6f"
	svg, err := qrSVG(url)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil || len(doc.Paths) != 1 {
		t.Fatalf("not one path of SVG: %v", err)
	}
	drawn := map[[2]int]bool{}
	for _, cmd := range strings.Split(doc.Paths[0].D, "z") {
		if cmd == "" {
			continue
		}
		var x, y, run, back int
		if _, err := fmt.Sscanf(cmd, "M%d %dh%dv1h-%d", &x, &y, &run, &back); err != nil || run != back {
			t.Fatalf("path command %q: %v", cmd, err)
		}
		for i := range run {
			drawn[[2]int{x + i - 4, y - 4}] = true
		}
	}
	code, _ := qr.Encode(url, qr.M)
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) != drawn[[2]int{x, y}] {
				t.Fatalf("module (%d, %d): drawn %v, code %v", x, y, drawn[[2]int{x, y}], code.Black(x, y))
			}
		}
	}
	if len(drawn) == 0 {
		t.Fatal("nothing drawn")
	}
}
