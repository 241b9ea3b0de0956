package assetcsv_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
)

// readDates reads a Purchase Date column of values with opts and returns
// each row's date, or "!" and its error; err is what ended the read.
func readDates(t *testing.T, opts qm.ImportOptions, values ...string) (got []string, err error) {
	t.Helper()
	in := "Model,Purchase Date\n"
	for _, v := range values {
		in += "M," + v + "\n"
	}
	r, err := assetcsv.NewReader(strings.NewReader(in), opts)
	if err != nil {
		return nil, err
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		if len(row.Errors) > 0 {
			got = append(got, "!"+strings.Join(row.Errors, "; "))
		} else {
			got = append(got, row.Asset.PurchaseDate)
		}
	}
}

func TestDates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format string
		in     []string
		want   []string // "!" and a part of the row's error
	}{
		{"Forms", "", []string{"2025-03-14", "2025/3/4", "14.03.2025", "14 Mar 2025", `"Mar 14, 2025"`, "05/05/2025"},
			[]string{"2025-03-14", "2025-03-04", "2025-03-14", "2025-03-14", "2025-03-14", "2025-05-05"}},
		{"MonthFirstInferredAhead", "", []string{"4/5/16", "3/8/16", "12/24/15", "1/2/70", "1/2/69"},
			[]string{"2016-04-05", "2016-03-08", "2015-12-24", "1970-01-02", "2069-01-02"}},
		{"DayFirstInferredAhead", "", []string{"03/04/2025", "2025-01-01", "13/4/16"}, []string{"2025-04-03", "2025-01-01", "2016-04-13"}},
		{"DecidedBefore", "", []string{"13-4-2016", "03-04-2025"}, []string{"2016-04-13", "2025-04-03"}},
		{"Conflicting", "", []string{"13/4/16", "4/13/16"}, []string{"2016-04-13", `!Purchase Date: "4/13/16" is not a date in day/month/year order: the column's dates are day/month/year, as "13/4/16" on line 2 tells`}},
		{"NotDates", "", []string{"31/02/2025", "yesterday", "2025-13-01", "31/31/2025"},
			[]string{"!not a date in day/month/year", "!not a date", "!not a date", "!not a date"}},
		{"Given", "MM/DD/YY", []string{"03/04/25", "13/4/16"}, []string{"2025-03-04", "!not a date in month/day/year order"}},
		{"GivenISO", "YYYY-MM-DD", []string{"2025-03-04", "03/04/25"}, []string{"2025-03-04", "!not in the form YYYY-MM-DD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readDates(t, qm.ImportOptions{DateFormat: tc.format}, tc.in...)
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			for i, w := range tc.want {
				if got[i] != w && !(strings.HasPrefix(w, "!") && strings.HasPrefix(got[i], "!") && strings.Contains(got[i], w[1:])) {
					t.Fatalf("row %d: got %q, want %q", i, got[i], w)
				}
			}
		})
	}
	t.Run("ErrAmbiguousColumn", func(t *testing.T) {
		got, err := readDates(t, qm.ImportOptions{}, "2025-01-01", "03/04/2025", "05/06/2025", "07/08/2025")
		if qm.ErrorCode(err) != qm.EInvalid || len(got) != 1 || !strings.Contains(err.Error(), `Purchase Date: no date in the column tells`) ||
			!strings.Contains(err.Error(), "line 3") {
			t.Fatalf("got %q, %v; want one error for the column, naming its first ambiguous line", got, err)
		}
	})
	t.Run("ErrFormat", func(t *testing.T) {
		if _, err := assetcsv.NewReader(strings.NewReader("Model\nM\n"), qm.ImportOptions{DateFormat: "DD/DD/YYYY"}); qm.ErrorCode(err) != qm.EInvalid {
			t.Fatalf("got %v, want a validation error", err)
		}
	})
}

func TestParseCost(t *testing.T) {
	for _, tc := range []struct {
		in, currency string // currency: the row's Currency column
		minor        int64
		cur          string
		bad          string // what the error says, if the amount is refused
	}{
		{in: "1299", minor: 129900}, {in: "$1,299.00", minor: 129900, cur: "USD"}, {in: "1.299,00 €", minor: 129900, cur: "EUR"},
		{in: "EUR 12", minor: 1200, cur: "EUR"}, {in: "1 299,5", minor: 129950}, {in: "£0.99", minor: 99, cur: "GBP"},
		{in: "12.345.678", minor: 1234567800}, {in: "-5", bad: "not an amount"}, {in: "free", bad: "not an amount"},
		{in: "", bad: "not an amount"}, {in: "1e9", bad: "not an amount"}, {in: "0.1255", bad: "more than 2 digits after the point"},
		// Yen have no minor unit: the amount is the yen, and a fraction is refused.
		{in: "¥1,234", minor: 1234, cur: "JPY"}, {in: "1234", currency: "JPY", minor: 1234}, {in: "1.234", currency: "jpy", minor: 1234},
		{in: "¥12.5", bad: "JPY has no minor unit"}, {in: "12,5", currency: "JPY", bad: "JPY has no minor unit"},
		// Bahraini and Kuwaiti amounts have three digits after the point.
		{in: "BHD 1.234", minor: 1234, cur: "BHD"}, {in: "1,234", currency: "KWD", minor: 1234}, {in: "1,234.5", currency: "KWD", minor: 1234500},
		{in: "1.234.567", currency: "BHD", minor: 1234567000}, {in: "0.0005", currency: "BHD", bad: "more than 3 digits after the point, as many as BHD has"},
		// The row's currency decides the scale over the sign.
		{in: "$1,234", currency: "JPY", minor: 1234, cur: "USD"},
		// A code no table knows has two digits, as the browser gives it.
		{in: "12.5", currency: "QQQ", minor: 1250},
	} {
		t.Run(tc.in+" "+tc.currency, func(t *testing.T) {
			minor, cur, err := assetcsv.ParseCost(tc.in, tc.currency)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("got %d %s, %v; want an error saying %q", minor, cur, err, tc.bad)
				}
				return
			}
			if err != nil || minor != tc.minor || cur != tc.cur {
				t.Fatalf("got %d %q, %v; want %d %q", minor, cur, err, tc.minor, tc.cur)
			}
		})
	}
}

func TestMinorDigits(t *testing.T) {
	for cur, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "jpy": 0, "": 2, "QQQ": 2} {
		if got := assetcsv.MinorDigits(cur); got != want {
			t.Errorf("%q: got %d, want %d", cur, got, want)
		}
	}
}

func TestFormatCost(t *testing.T) {
	for _, tc := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{129950, "EUR", "1299.50"}, {5, "USD", "0.05"}, {0, "", "0.00"}, {1234, "JPY", "1234"}, {1234, "BHD", "1.234"}, {7, "KWD", "0.007"}, {-150, "EUR", "-1.50"},
	} {
		got := assetcsv.FormatCost(tc.minor, tc.currency)
		if got != tc.want {
			t.Errorf("%d %s: got %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
		if back, _, err := assetcsv.ParseCost(got, tc.currency); tc.minor >= 0 && (err != nil || back != tc.minor) {
			t.Errorf("%q %s read back as %d, %v; want %d", got, tc.currency, back, err, tc.minor)
		}
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
		r, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{})
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
			",A-2,Laptops,,SN2,31/31/2025,lots,,\n"
		r, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{})
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
			if _, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{}); err == nil {
				t.Fatal("got no error")
			}
		})
	}
	t.Run("BadQuoteOnOneLine", func(t *testing.T) {
		r, err := assetcsv.NewReader(strings.NewReader("Model,Asset Tag\nx,A-1\n\"unterminated,A-2\nx,27\" screen\ny,A-4\n"), qm.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d %s %d", row.Line, row.Asset.Tag, len(row.Errors)))
		}
		if want := []string{"2 A-1 0", "3  1", "4  1", "5 A-4 0"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q: the bad lines reported, the rows after them read", got, want)
		}
	})
	t.Run("ErrNoRows", func(t *testing.T) {
		for _, in := range []string{"Model,Asset Tag\n", "Model,Asset Tag\r\r,,\r", "Model,Asset Tag"} {
			r, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Next(); qm.ErrorCode(err) != qm.EInvalid || !strings.Contains(err.Error(), "no rows") {
				t.Fatalf("%q: got %v, want an error saying the file has no rows", in, err)
			}
		}
	})
	t.Run("CROnly", func(t *testing.T) {
		r, err := assetcsv.NewReader(strings.NewReader("Model,Asset Tag\rx,A-1\ry,A-2"), qm.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"A-1", "A-2"} {
			if row, err := r.Next(); err != nil || row.Asset.Tag != want {
				t.Fatalf("got %+v, %v; want %s", row, err, want)
			}
		}
	})
}

// drain imports every row and reports nothing of its own.
type drain struct{}

func (drain) Import(_ context.Context, next func() (*qm.ImportRow, error), opts qm.ImportOptions) (*qm.ImportReport, error) {
	rep := &qm.ImportReport{}
	for {
		if _, err := next(); errors.Is(err, io.EOF) {
			return rep, nil
		} else if err != nil {
			return nil, err
		}
		rep.Rows++
	}
}

func TestDroppedColumns(t *testing.T) {
	in := "Full Name,Email,Model Name,Company,Warranty End,Created At\nAda Lovelace,ada@example.com,M,Acme,2027-01-01,\n"
	for _, tc := range []struct {
		company bool
		want    []string
	}{{false, []string{"Full Name", "Company"}}, {true, []string{"Full Name"}}} {
		r, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{CompanyAsDepartment: tc.company})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Import(t.Context(), drain{})
		if err != nil || !slices.Equal(rep.IgnoredColumns, tc.want) || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], `"Full Name"`) {
			t.Fatalf("company as department %v: got %+v, %v; want %q named in one warning", tc.company, rep, err, tc.want)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, and
// every row it returns has a line number.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"Model,Asset Tag\nx,A-1\n", "Model,Purchase Cost,Purchase Date\nx,\"1,2,3\",31/31/2025\n", "\"", "Model\n\"a\"\"b\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := assetcsv.NewReader(strings.NewReader(in), qm.ImportOptions{})
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

// FuzzParseCost checks that an accepted amount is never negative, and that
// its export reads back the same.
func FuzzParseCost(f *testing.F) {
	for _, s := range []string{"$1,299.00", "1.299,00 €", "EUR 12", "-1", "1e9"} {
		f.Add(s, "")
	}
	f.Add("¥1,234", "JPY")
	f.Add("1.234", "BHD")
	f.Fuzz(func(t *testing.T, s, currency string) {
		minor, cur, err := assetcsv.ParseCost(s, currency)
		if err != nil {
			return
		}
		if minor < 0 {
			t.Fatalf("%q gave %d", s, minor)
		}
		unit := cmp.Or(currency, cur)
		if back, _, err := assetcsv.ParseCost(assetcsv.FormatCost(minor, unit), unit); err != nil || back != minor {
			t.Fatalf("%q in %q: %d written as %q reads back as %d, %v", s, unit, minor, assetcsv.FormatCost(minor, unit), back, err)
		}
	})
}
