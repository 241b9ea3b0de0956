package devicecsv

import (
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestRead(t *testing.T) {
	for name, in := range map[string]string{
		"LF": "\ufeffIMEI,Serial,Kind\n356938035643809,TRK-1,vehicle\n\nphone-7,,phone\n",
		"CR": "\ufeffIMEI,Serial,Kind\r356938035643809,TRK-1,vehicle\r\rphone-7,,phone",
	} {
		l, err := Read(strings.NewReader(in))
		if err != nil || len(l.Devices) != 2 || l.Devices[0].Ident != "356938035643809" || l.Devices[0].Serial != "TRK-1" ||
			l.Devices[1].Kind != "phone" || !slices.Equal(l.Lines, []int{2, 4}) {
			t.Fatalf("%s: got %+v, %v", name, l, err)
		}
	}
	for _, c := range []struct{ name, in, code, says string }{
		{"Empty", "", qm.EInvalid, "empty"},
		{"NoRows", "ident\r,\r", qm.EInvalid, "no rows"},
		{"NoIdent", "serial\nx\n", qm.EInvalid, "no ident"},
		{"UnknownColumn", "ident,colour\nx,red\n", qm.EInvalid, `"colour"`},
		{"BadLines", "ident,serial\na,1\n\"open,2\nb,27\" tall\nc,3,4\nd,5\n", qm.EInvalid,
			"3 lines are not devices: nothing was registered\nline 3: not CSV: column 1 has text after its closing quote" +
				"${…}\nline 4: not CSV: column 2 has a quote inside a cell that is not in quotes${…}\nline 5: more values than the header has columns (2)"},
		{"NotUTF8", "ident\nab\xff\n", qm.EBadRequest, "line 2, column 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in))
			if qm.ErrorCode(err) != c.code {
				t.Fatalf("got %v, want code %s", err, c.code)
			}
			// The parts of what it says, in order; ${…} stands for anything.
			msg := qm.ErrorMessage(err)
			for _, part := range strings.Split(c.says, "${…}") {
				i := strings.Index(msg, part)
				if i < 0 {
					t.Fatalf("got %q, want it to say %q", qm.ErrorMessage(err), c.says)
				}
				msg = msg[i+len(part):]
			}
		})
	}
}

func TestByLine(t *testing.T) {
	l, err := Read(strings.NewReader("ident\na\n\nb\nc\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := &qm.Error{Code: qm.EInvalid, Message: "2 of 3 devices are invalid", Fields: map[string]string{"devices[2]": `ident "c" is also devices[0]`, "devices[1]": "bad"}}
	err = l.ByLine(in)
	want := "2 of 3 devices are invalid\nline 4: bad\nline 5: ident \"c\" is also line 2"
	if qm.ErrorCode(err) != qm.EInvalid || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
