package assetcsv_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/quartermaster/qm/assetcsv"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2025-03-14", "2025-03-14"}, {"2025/3/4", "2025-03-04"}, {"14.03.2025", "2025-03-14"},
		{"14/03/2025", "2025-03-14"}, {"03/14/2025", "2025-03-14"}, {"14-03-2025", "2025-03-14"},
		{"14 Mar 2025", "2025-03-14"}, {"Mar 14, 2025", "2025-03-14"}, {"05/05/2025", "2025-05-05"},
		{"03/04/2025", ""}, {"31/02/2025", ""}, {"yesterday", ""}, {"2025-13-01", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := assetcsv.ParseDate(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseCost(t *testing.T) {
	for _, tc := range []struct {
		in    string
		cents int64
		cur   string
		bad   bool
	}{
		{"1299", 129900, "", false}, {"$1,299.00", 129900, "USD", false}, {"1.299,00 €", 129900, "EUR", false},
		{"EUR 12", 1200, "EUR", false}, {"1 299,5", 129950, "", false}, {"£0.99", 99, "GBP", false},
		{"12.345.678", 1234567800, "", false}, {"-5", 0, "", true}, {"free", 0, "", true}, {"", 0, "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			cents, cur, err := assetcsv.ParseCost(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("got %d %s, want an error", cents, cur)
				}
				return
			}
			if err != nil || cents != tc.cents || cur != tc.cur {
				t.Fatalf("got %d %q, %v; want %d %q", cents, cur, err, tc.cents, tc.cur)
			}
		})
	}
}

func TestReader(t *testing.T) {
	t.Run("CheckedOut", func(t *testing.T) {
		in := "Asset Tag,Model,Checkout Type,Checked Out To: Username,Checked Out To: Email,Checked Out To: Location,Checked Out To\n" +
			"A-1,M,user,alice,alice@example.com,,\n" +
			"A-2,M,location,,,Warehouse,\n" +
			"A-3,M,,,,,asset: A-1\n" +
			"A-4,M,user,,,,\n" +
			"A-5,M,,bob,,,\n"
		r, err := assetcsv.NewReader(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			kind, name string
			errors     int
		}{{"user", "alice@example.com", 0}, {"location", "Warehouse", 0}, {"asset", "A-1", 0}, {"", "", 1}, {"user", "bob", 0}} {
			row, err := r.Next()
			if err != nil || row.HolderType != want.kind || row.HolderName != want.name || len(row.Errors) != want.errors {
				t.Fatalf("line %d: got %q %q %v, %v; want %q %q and %d errors", row.Line, row.HolderType, row.HolderName, row.Errors, err, want.kind, want.name, want.errors)
			}
		}
	})
	t.Run("SnipeIT", func(t *testing.T) {
		in := "\ufeffItem Name,ASSET TAG,Category,Model Name,Serial Number,Purchase Date,Purchase Cost,Status,Favourite Colour\n" +
			"Alice's laptop,A-1,Laptops,Latitude 5440,SN1,2025-01-31,\"$1,299.00\",Ready to deploy,blue\n" +
			",A-2,Laptops,,SN2,03/04/2025,lots,,\n"
		r, err := assetcsv.NewReader(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Custom) != 1 || r.Custom[0] != "Favourite Colour" {
			t.Fatalf("columns for custom fields: %v", r.Custom)
		}
		row, err := r.Next()
		if err != nil || row.Line != 2 || row.Asset.Tag != "A-1" || row.Asset.Name != "Alice's laptop" || row.Model != "Latitude 5440" ||
			row.Category != "Laptops" || *row.Asset.CostCents != 129900 || row.Asset.Currency != "USD" || row.Asset.PurchaseDate != "2025-01-31" ||
			row.Status != "Ready to deploy" || len(row.Errors) != 0 || row.Fields["Favourite Colour"] != "blue" {
			t.Fatalf("row 2: %+v, %v", row, err)
		}
		row, err = r.Next()
		if err != nil || row.Line != 3 || len(row.Errors) != 3 {
			t.Fatalf("row 3: got %+v, %v; want three errors (date, cost, model)", row, err)
		}
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last row: %v", err)
		}
	})
	for name, in := range map[string]string{
		"ErrEmpty":        "",
		"ErrNoModel":      "Asset Tag,Name\nA-1,x\n",
		"ErrTwiceTheSame": "Model,Model Name\nx,y\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := assetcsv.NewReader(strings.NewReader(in)); err == nil {
				t.Fatal("got no error")
			}
		})
	}
	t.Run("ErrMalformedLine", func(t *testing.T) {
		r, err := assetcsv.NewReader(strings.NewReader("Model,Asset Tag\nx,A-1\n\"unterminated,A-2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "line 3") {
			t.Fatalf("got %v, want an error naming line 3", err)
		}
	})
}

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, and
// every row it returns has a line number.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"Model,Asset Tag\nx,A-1\n", "Model,Purchase Cost,Purchase Date\nx,\"1,2,3\",31/31/2025\n", "\"", "Model\n\"a\"\"b\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := assetcsv.NewReader(strings.NewReader(in))
		if err != nil {
			return
		}
		for range 1000 {
			row, err := r.Next()
			if err != nil {
				return
			}
			if row.Line < 2 {
				t.Fatalf("row with line %d", row.Line)
			}
		}
	})
}

// FuzzParseCost checks that an accepted amount is never negative.
func FuzzParseCost(f *testing.F) {
	for _, s := range []string{"$1,299.00", "1.299,00 €", "EUR 12", "-1", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cents, _, err := assetcsv.ParseCost(s); err == nil && cents < 0 {
			t.Fatalf("%q gave %d cents", s, cents)
		}
	})
}
