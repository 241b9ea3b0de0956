package csvfile_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/csvfile"
)

// readAll returns every record as "LINE:cell|cell" or "LINE:error", and
// the error that ended the read (nil at the end of the file).
func readAll(t *testing.T, r *csvfile.Reader) ([]string, error) {
	t.Helper()
	var got []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, show(rec))
	}
}

func show(rec csvfile.Record) string {
	if rec.Err != nil {
		return fmt.Sprintf("%02d:error", rec.Line)
	}
	return fmt.Sprintf("%02d:%s", rec.Line, strings.Join(rec.Fields, "|"))
}

func mustRead(t *testing.T, in, enc string) []string {
	t.Helper()
	r, err := csvfile.NewReader(strings.NewReader(in), enc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return got
}

func TestLineEnds(t *testing.T) {
	want := []string{"01:Model|Notes", "02:a|one\ntwo", "04:b|", "07:c|x"}
	for name, end := range map[string]string{"LF": "\n", "CRLF": "\r\n", "CR": "\r"} {
		t.Run(name, func(t *testing.T) {
			in := strings.ReplaceAll("Model,Notes\na,\"one\ntwo\"\nb,\n\n,,\nc,x", "\n", end)
			if got := mustRead(t, in, ""); !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestBadQuotes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"BareQuote", "Model,Name\na,12\" screen\nb,x\n", []string{"01:Model|Name", "02:error", "03:b|x"}},
		{"TextAfterQuote", "Model,Name\n\"a\"b,x\nc,y\n", []string{"01:Model|Name", "02:error", "03:c|y"}},
		{"NeverClosed", "Model,Name\n\"a,x\nb,y\nc,y\n", []string{"01:Model|Name", "02:error", "03:b|y", "04:c|y"}},
		{"ClosedByALaterCell", "Model,Name\n\"a,x\nb,\"y\"\nc,y\n", []string{"01:Model|Name", "02:error", "03:b|y", "04:c|y"}},
		{"Doubled", "Model,Name\n\"a\"\"b\",\"\"\n", []string{"01:Model|Name", "02:a\"b|"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustRead(t, tc.in, ""); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, in, enc string
		want          []string
		err           string // in the error that ends the read
	}{
		{"MacRoman", "Name\nCura\x8dao \x8e\r", "macintosh", []string{"01:Name", "02:Curaçao é"}, ""},
		{"Windows1252", "Name\n\x93quoted\x94 caf\xe9\n", "windows-1252", []string{"01:Name", "02:“quoted” café"}, ""},
		{"NotUTF8", "Model,Name\na,b\nc,caf\xe9\n", "", []string{"01:Model|Name", "02:a|b"}, `line 3, column 2 ("Name") is not UTF-8`},
		{"NotUTF8InQuotes", "Model,Name\n\"a,b\",\"x\ny\xff\"\n", "", []string{"01:Model|Name"}, `line 3, column 2 ("Name") is not UTF-8`},
		{"NUL", "Model,Name\na,b\x00c\n", "", []string{"01:Model|Name"}, `line 2, column 2 ("Name") holds a NUL byte`},
		{"ReplacementCharacter", "Name\n\ufffd\n", "", []string{"01:Name", "02:\ufffd"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := csvfile.NewReader(strings.NewReader(tc.in), tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, r)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("got %v", err)
			case tc.err != "" && (qm.ErrorCode(err) != qm.EBadRequest || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("got %v, want a bad request saying %s", err, tc.err)
			}
		})
	}
	if _, err := csvfile.NewReader(strings.NewReader(""), "klingon"); qm.ErrorCode(err) != qm.EInvalid || !strings.Contains(err.Error(), `"klingon"`) {
		t.Fatalf("unknown encoding: got %v", err)
	}
}

func TestLookahead(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	defer func() {
		// Read to the end or dropped half way, a look ahead leaves no file.
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}()
	in := "Model\r\"a\rb\"\rc\r12\" bad\rd\re"
	r, err := csvfile.NewReader(strings.NewReader(in), "")
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := r.Read(); err != nil || show(rec) != "01:Model" {
		t.Fatalf("header: %q, %v", show(rec), err)
	}
	var ahead []string
	err = r.Lookahead(func(rec csvfile.Record) bool {
		ahead = append(ahead, show(rec))
		return len(ahead) < 3
	})
	want := []string{"02:a\nb", "04:c", "05:error"}
	if err != nil || !slices.Equal(ahead, want) {
		t.Fatalf("ahead: got %q, %v; want %q", ahead, err, want)
	}
	// Ahead again, to the end, from the same place.
	ahead = nil
	if err := r.Lookahead(func(rec csvfile.Record) bool { ahead = append(ahead, show(rec)); return true }); err != nil {
		t.Fatal(err)
	}
	want = append(want, "06:d", "07:e")
	if !slices.Equal(ahead, want) {
		t.Fatalf("ahead to the end: got %q, want %q", ahead, want)
	}
	got, err := readAll(t, r)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("after looking ahead: got %q, %v; want %q", got, err, want)
	}
	// Dropped half way.
	r, _ = csvfile.NewReader(strings.NewReader(in), "")
	if err := r.Lookahead(func(csvfile.Record) bool { return true }); err != nil {
		t.Fatal(err)
	}
	r.Read()
}

// FuzzReader feeds arbitrary bytes to the reader: it must never panic,
// each record starts on a later line than the one before, and looking
// ahead changes nothing that is read.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"a,b\nc,d\n", "a\r\"b\rc\"\r", "\"", "a\"b\n\"c\nd", "x\x00,y\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		read := func(ahead bool) ([]string, error) {
			r, err := csvfile.NewReader(strings.NewReader(in), "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			last := 0
			for i := range 10000 {
				if ahead && i < 3 {
					r.Lookahead(func(csvfile.Record) bool { return false })
				}
				rec, err := r.Read()
				if err != nil {
					if errors.Is(err, io.EOF) {
						err = nil
					}
					return got, err
				}
				if rec.Line <= last {
					t.Fatalf("record on line %d after one on line %d", rec.Line, last)
				}
				last = rec.Line
				got = append(got, show(rec))
			}
			return got, nil
		}
		plain, err1 := read(false)
		ahead, err2 := read(true)
		if !slices.Equal(plain, ahead) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("read %q, %v; with look ahead %q, %v", plain, err1, ahead, err2)
		}
	})
}
