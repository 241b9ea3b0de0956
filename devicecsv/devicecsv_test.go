package devicecsv

import (
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestRead(t *testing.T) {
	ds, err := Read(strings.NewReader("\ufeffIMEI,Serial,Kind\n356938035643809,TRK-1,vehicle\nphone-7,,phone\n"))
	if err != nil || len(ds) != 2 || ds[0].Ident != "356938035643809" || ds[0].Serial != "TRK-1" || ds[1].Kind != "phone" {
		t.Fatalf("got %+v, %v", ds, err)
	}
	for _, c := range []struct{ name, in, code string }{
		{"Empty", "", qm.EInvalid},
		{"NoIdent", "serial\nx\n", qm.EInvalid},
		{"UnknownColumn", "ident,colour\nx,red\n", qm.EInvalid},
		{"NotCSV", "ident\n\"open\n", qm.EInvalid},
		{"TooManyValues", "ident\nx,y\n", qm.EInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Read(strings.NewReader(c.in)); qm.ErrorCode(err) != c.code {
				t.Fatalf("got %v, want code %s", err, c.code)
			}
		})
	}
}
