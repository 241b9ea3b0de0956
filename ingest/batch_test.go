package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
)

func TestDecodeBatch(t *testing.T) {
	t1 := MustTime(t, "2025-06-15T13:45:12.862Z")
	t2 := MustTime(t, "2025-06-15T15:46:00+02:00")
	full := `{"time":"2025-06-15T13:45:12.862Z","lat":52.52,"lon":13.405,"altitude_m":34,"speed_kmh":50.5,"heading":270,"accuracy_m":4.5,"metrics":{"battery_v":12.6,"ignition":true,"dtc":"P0301"}}`
	fullPoint := qm.Point{
		Time:     t1,
		Position: &qm.Position{Lat: 52.52, Lon: 13.405, AltitudeM: ptr(34), SpeedKMH: ptr(50.5), Heading: ptr(270), AccuracyM: ptr(4.5)},
		Metrics:  map[string]qm.Metric{"battery_v": qm.NumberMetric(12.6), "ignition": qm.BoolMetric(true), "dtc": qm.StringMetric("P0301")},
	}
	bare := `{"time":"2025-06-15T15:46:00+02:00","metrics":{"fuel_pct":40}}`
	barePoint := qm.Point{Time: t2, Metrics: map[string]qm.Metric{"fuel_pct": qm.NumberMetric(40)}}
	for _, tc := range []struct {
		name string
		body string
		want []qm.Point
	}{
		{"Array", "[" + full + "," + bare + "]", []qm.Point{fullPoint, barePoint}},
		{"ArrayWithSpace", " [\n " + full + " ,\n\t" + bare + "\n] \n", []qm.Point{fullPoint, barePoint}},
		{"ArrayEmpty", "[ ]", nil},
		{"Object", full, []qm.Point{fullPoint}},
		{"ObjectTrailingNewline", full + "\r\n", []qm.Point{fullPoint}},
		{"NDJSON", full + "\n" + bare + "\n", []qm.Point{fullPoint, barePoint}},
		{"NDJSONBlankLinesCRLF", "\r\n" + full + "\r\n\r\n  \n" + bare, []qm.Point{fullPoint, barePoint}},
		{"ByteOrderMark", "\xEF\xBB\xBF" + full, []qm.Point{fullPoint}},
		{"PositionOnly", `{"time":"2025-06-15T13:45:12.862Z","lat":-33.9,"lon":-0}`,
			[]qm.Point{{Time: t1, Position: &qm.Position{Lat: -33.9, Lon: 0}}}},
		{"NullIsAbsent", `{"time":"2025-06-15T13:45:12.862Z","lat":1,"lon":2,"altitude_m":null,"speed_kmh":null,"heading":null,"accuracy_m":null,"metrics":null}`,
			[]qm.Point{{Time: t1, Position: &qm.Position{Lat: 1, Lon: 2}}}},
		{"NullPosition", `{"time":"2025-06-15T13:45:12.862Z","lat":null,"lon":null}`, []qm.Point{{Time: t1}}},
		{"EmptyObject", `{}`, []qm.Point{{}}},
		{"EmptyMetrics", `{"time":"2025-06-15T13:45:12.862Z","metrics":{}}`, []qm.Point{{Time: t1}}},
		{"NamesLowerCased", `{"time":"2025-06-15T13:45:12.862Z","metrics":{"Battery_V":12.6,"RPM":900}}`,
			[]qm.Point{{Time: t1, Metrics: map[string]qm.Metric{"battery_v": qm.NumberMetric(12.6), "rpm": qm.NumberMetric(900)}}}},
		{"GuardStringsStayStrings", `{"time":"2025-06-15T13:45:12.862Z","metrics":{"a":"NaN","b":"Infinity","c":"1e999","d":"12"}}`,
			[]qm.Point{{Time: t1, Metrics: map[string]qm.Metric{"a": qm.StringMetric("NaN"), "b": qm.StringMetric("Infinity"), "c": qm.StringMetric("1e999"), "d": qm.StringMetric("12")}}}},
		{"Numbers", `{"time":"2025-06-15T13:45:12.862Z","lat":-0.5e1,"lon":1E+2,"metrics":{"a":0,"b":-0.0,"c":1e-400,"d":1.7976931348623157e308}}`,
			[]qm.Point{{Time: t1, Position: &qm.Position{Lat: -5, Lon: 100}, Metrics: map[string]qm.Metric{"a": qm.NumberMetric(0), "b": qm.NumberMetric(0), "c": qm.NumberMetric(0), "d": qm.NumberMetric(1.7976931348623157e308)}}}},
		{"Escapes", `{"time":"2025-06-15T13:45:12.862Z","metrics":{"s":"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude97","lone":"\ud800x","low":"\udc00","m\u0061x":"é"}}`,
			[]qm.Point{{Time: t1, Metrics: map[string]qm.Metric{"s": qm.StringMetric("a\"\\/\b\f\n\r\té🚗"), "lone": qm.StringMetric("\uFFFDx"), "low": qm.StringMetric("\uFFFD"), "max": qm.StringMetric("é")}}}},
		{"OutOfRangeDecodesForValidate", `{"time":"2025-06-15T13:45:12.862Z","lat":91,"lon":-181,"heading":360,"speed_kmh":-1}`,
			[]qm.Point{{Time: t1, Position: &qm.Position{Lat: 91, Lon: -181, Heading: ptr(360), SpeedKMH: ptr(-1)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ingest.DecodeBatch(strings.NewReader(tc.body), 10)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if d := diffPoints(got, tc.want); d != "" {
				t.Fatal(d)
			}
			checkRoundTrip(t, got)
		})
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	tm := `"time":"2025-06-15T13:45:12Z"`
	for _, tc := range []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"Empty", "", "the body is empty"},
		{"OnlySpace", " \n\t", "the body is empty"},
		{"NotJSON", "hello", "line 1, column 1: want a point object"},
		{"TopLevelNumber", "42", "want a point object"},
		{"TopLevelNull", "null", "want a point object"},
		{"MissingComma", `{` + tm + ` "lat":1}`, "line 1, column 32: point 1: want , or } after a field"},
		{"MissingColon", `{"time" "x"}`, "want : after a field name"},
		{"UnclosedObject", `{` + tm, "(end of body): point 1: want , or }"},
		{"UnclosedArray", `[{` + tm + `}`, "want , or ] after point 1"},
		{"TrailingComma", `[{` + tm + `},]`, "point 2: want an object"},
		{"UnclosedString", `{"time":"2025`, "string not closed"},
		{"SecondLineMalformed", "{" + tm + "}\n\n{" + tm + ",}\n", "line 3, column 32: point 2: want a string"},
		{"TwoObjectsOneLine", "{" + tm + "} {" + tm + "}", "want a new line after point 1"},
		{"DataAfterArray", "[] x", "unexpected data after the array"},
		{"ArrayOfNumbers", "[1,2]", "point 1: want an object"},
		{"ArrayOfNulls", "[null]", "point 1: want an object"},
		{"ArrayOfStrings", `[{` + tm + `},"x"]`, "point 2: want an object"},
		{"ArrayOfArrays", `[[]]`, "point 1: want an object"},
		{"NDJSONArrayLine", "{" + tm + "}\n[1]", "line 2, column 1: point 2: want an object"},
		{"UnknownField", `{` + tm + `,"spd":3}`, `point 1: unknown field "spd"`},
		{"UnknownFieldCase", `{"Time":"2025-06-15T13:45:12Z"}`, `unknown field "Time"`},
		{"NestedPositionRejected", `{` + tm + `,"position":{"lat":1,"lon":2}}`, `unknown field "position"`},
		{"DuplicateField", `{` + tm + `,"lat":1,"lon":2,"lat":3}`, "field lat given twice"},
		{"LatWithoutLon", `{` + tm + `,"lat":1}`, "lat and lon must be given together"},
		{"LonWithoutLat", `{` + tm + `,"lon":1,"lat":null}`, "lat and lon must be given together"},
		{"SpeedWithoutPosition", `{` + tm + `,"speed_kmh":3}`, "need lat and lon"},
		{"LatOverflow", `{` + tm + `,"lat":1e999,"lon":0}`, `lat "1e999" is out of range`},
		{"LonNegativeOverflow", `{` + tm + `,"lat":0,"lon":-1e999}`, `lon "-1e999" is out of range`},
		{"MetricOverflow", `{` + tm + `,"metrics":{"odo":1e999}}`, `metric "odo" "1e999" is out of range`},
		{"LatNaNLiteral", `{` + tm + `,"lat":NaN,"lon":0}`, "lat must be a number"},
		{"LatInfinityLiteral", `{` + tm + `,"lat":Infinity,"lon":0}`, "lat must be a number"},
		{"LatString", `{` + tm + `,"lat":"52.5","lon":0}`, "lat must be a number"},
		{"LatLeadingPlus", `{` + tm + `,"lat":+1,"lon":0}`, "lat must be a number"},
		{"LatLeadingZero", `{` + tm + `,"lat":01,"lon":0}`, "want , or } after a field"},
		{"LatBareDot", `{` + tm + `,"lat":1.,"lon":0}`, "want a digit after the decimal point"},
		{"LatBareExponent", `{` + tm + `,"lat":1e,"lon":0}`, "want a digit in the exponent"},
		{"TimeNotRFC3339", `{"time":"yesterday"}`, `time "yesterday" is not an RFC 3339 date-time`},
		{"TimeNoZone", `{"time":"2025-06-15T13:45:12"}`, "not an RFC 3339 date-time"},
		{"TimeEpoch", `{"time":1718459112}`, "time must be an RFC 3339 string"},
		{"MetricsArray", `{` + tm + `,"metrics":[1]}`, "metrics must be an object"},
		{"MetricNull", `{` + tm + `,"metrics":{"a":null}}`, `metric "a" must be a number, true, false or a string`},
		{"MetricObject", `{` + tm + `,"metrics":{"a":{"b":1}}}`, `metric "a" must be a number`},
		{"MetricArray", `{` + tm + `,"metrics":{"a":[1]}}`, `metric "a" must be a number`},
		{"MetricTru", `{` + tm + `,"metrics":{"a":tru}}`, `metric "a" must be a number`},
		{"MetricDuplicateAfterLowerCase", `{` + tm + `,"metrics":{"Fuel":1,"fuel":2}}`, `metric "fuel" given twice`},
		{"MetricsNotClosed", `{` + tm + `,"metrics":{"a":1`, "want , or } after a metric"},
		{"InvalidUTF8", `{` + tm + `,"metrics":{"a":"` + "\xff" + `"}}`, "not valid UTF-8"},
		{"InvalidUTF8Escaped", `{` + tm + `,"metrics":{"a":"\n` + "\xc3" + `"}}`, "not valid UTF-8"},
		{"ControlCharacter", `{` + tm + `,"metrics":{"a":"x` + "\x01" + `"}}`, "control character"},
		{"BadEscape", `{` + tm + `,"metrics":{"a":"\x"}}`, `invalid escape \x`},
		{"ShortUnicodeEscape", `{` + tm + `,"metrics":{"a":"\u12"}}`, `want four hex digits after \u`},
		{"BackslashAtEnd", `{"time":"\`, "string not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ingest.DecodeBatch(strings.NewReader(tc.body), 10)
			if err == nil {
				t.Fatalf("got %d points, want an error", len(got))
			}
			checkError(t, err)
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestDecodeBatchTooManyPoints(t *testing.T) {
	p := `{"time":"2025-06-15T13:45:12Z"}`
	for _, tc := range []struct {
		name string
		body string
		max  int
		ok   bool
	}{
		{"ArrayAtLimit", "[" + p + "," + p + "]", 2, true},
		{"ArrayOverLimit", "[" + p + "," + p + "," + p + "]", 2, false},
		{"NDJSONAtLimit", p + "\n" + p + "\n", 2, true},
		{"NDJSONOverLimit", p + "\n" + p + "\n" + p, 2, false},
		{"ZeroAllowsEmptyArray", "[]", 0, true},
		{"ZeroRefusesOne", p, 0, false},
		{"OverLimitBeforeMalformed", "[" + p + ",{", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ingest.DecodeBatch(strings.NewReader(tc.body), tc.max)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, ingest.ErrTooManyPoints) || qm.ErrorCode(err) != qm.ETooLarge {
				t.Fatalf("got %v (code %q), want ErrTooManyPoints (code %q)", err, qm.ErrorCode(err), qm.ETooLarge)
			}
		})
	}
}

func TestDecodeBatchReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ingest.DecodeBatch(io.MultiReader(strings.NewReader("[{"), iotest.ErrReader(boom)), 10)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v wrapped", err, boom)
	}
}

// batchBody returns a JSON array of n realistic vehicle points.
func batchBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	start := time.Date(2025, 6, 15, 13, 45, 12, 0, time.UTC)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"time":%q,"lat":%.6f,"lon":%.6f,"altitude_m":35.7,"speed_kmh":%.1f,"heading":%d,"accuracy_m":3.8,"metrics":{"battery_v":12.6,"ignition":true,"dtc":"P0301"}}`,
			start.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), 52.5+float64(i)*1e-5, 13.4+float64(i)*1e-5, float64(i%120)+0.5, i%360)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// BenchmarkDecodeBatch decodes batches of 1,000 typical points: a full
// position and three metrics, about 220 bytes each.
func BenchmarkDecodeBatch(b *testing.B) {
	const n = 1000
	body := batchBody(n)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		pts, err := ingest.DecodeBatch(bytes.NewReader(body), n)
		if err != nil || len(pts) != n {
			b.Fatalf("got %d points, %v; want %d", len(pts), err, n)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "points/s")
}

// FuzzDecodeBatch checks that DecodeBatch never panics, that its errors
// are ones a handler can show, that what it returns is finite, UTF-8 and
// in range or reported by Validate, that an accepted array is valid JSON
// of as many elements, and that the points survive being encoded and
// decoded again.
func FuzzDecodeBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		pts, err := ingest.DecodeBatch(bytes.NewReader(body), 64)
		if err != nil {
			checkError(t, err)
			return
		}
		if trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")), " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
			var elems []json.RawMessage
			if err := json.Unmarshal(trimmed, &elems); err != nil || len(elems) != len(pts) {
				t.Fatalf("accepted %q as %d points; encoding/json finds %d elements, %v", body, len(pts), len(elems), err)
			}
		}
		for _, p := range pts {
			checkPoint(t, p)
		}
		checkRoundTrip(t, pts)
	})
}
