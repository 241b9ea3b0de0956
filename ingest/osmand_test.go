package ingest_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
)

// now is the server clock in the OsmAnd tests.
var now = time.Date(2025, 6, 15, 14, 0, 0, 0, time.UTC)

func TestDecodeOsmAndQuery(t *testing.T) {
	ts := time.Date(2024, 6, 15, 13, 45, 12, 0, time.UTC) // 1718459112
	for _, tc := range []struct {
		name      string
		query     string
		wantIdent string
		wantKey   string
		want      qm.Point
	}{
		{"TraccarClient", "id=123456&timestamp=1718459112&lat=52.52&lon=13.405&speed=10&bearing=90&altitude=34.5&accuracy=5&batt=87&charge=true",
			"123456", "", qm.Point{Time: ts,
				Position: &qm.Position{Lat: 52.52, Lon: 13.405, SpeedKMH: ptr(18.52), Heading: ptr(90), AltitudeM: ptr(34.5), AccuracyM: ptr(5)},
				Metrics:  map[string]qm.Metric{"battery_pct": qm.NumberMetric(87), "charging": qm.BoolMetric(true)}}},
		{"KnotsToKMH", "id=1&timestamp=1718459112&lat=0&lon=0&speed=27",
			"1", "", qm.Point{Time: ts, Position: &qm.Position{SpeedKMH: ptr(50.004)}}},
		{"TimestampMilliseconds", "id=1&timestamp=1718459112123",
			"1", "", qm.Point{Time: ts.Add(123 * time.Millisecond)}},
		{"TimestampSecondsAfter2038", "id=1&timestamp=4102444800",
			"1", "", qm.Point{Time: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"TimestampRFC3339", "id=1&timestamp=2024-06-15T15%3A45%3A12.5%2B02%3A00",
			"1", "", qm.Point{Time: ts.Add(500 * time.Millisecond)}},
		{"TimestampRFC3339Z", "id=1&timestamp=2024-06-15T13:45:12Z",
			"1", "", qm.Point{Time: ts}},
		{"TimestampDateTimeForm", "id=1&timestamp=2024-06-15+13%3A45%3A12",
			"1", "", qm.Point{Time: ts}},
		{"TimestampISONoZone", "id=1&timestamp=2024-06-15T13:45:12",
			"1", "", qm.Point{Time: ts}},
		{"TimestampMissingIsNow", "id=1&lat=1&lon=2",
			"1", "", qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2}}},
		{"TimestampEmptyIsNow", "id=1&timestamp=",
			"1", "", qm.Point{Time: now}},
		{"DeviceID", "deviceid=abc&heading=45&lat=1&lon=2",
			"abc", "", qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2, Heading: ptr(45)}}},
		{"IDAndDeviceIDAgree", "id=abc&deviceid=abc",
			"abc", "", qm.Point{Time: now}},
		{"BearingAndHeadingAgree", "id=1&bearing=45&heading=45&lat=1&lon=2",
			"1", "", qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2, Heading: ptr(45)}}},
		{"Location", "id=123456&timestamp=1718459112&location=60.0,30.0",
			"123456", "", qm.Point{Time: ts, Position: &qm.Position{Lat: 60, Lon: 30}}},
		{"NoPositionDropsPositionFields", "id=1&speed=3&bearing=4&altitude=5&accuracy=6&batt=50",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(50)}}},
		{"MappedMetrics", "id=1&hdop=6.0&valid=1&driverUniqueId=0012&charge=false",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{
				"hdop": qm.NumberMetric(6), "valid": qm.BoolMetric(true), "driver_unique_id": qm.StringMetric("0012"), "charging": qm.BoolMetric(false)}}},
		{"ValidFalse", "id=1&valid=false",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{"valid": qm.BoolMetric(false)}}},
		{"OtherParametersAreMetrics", "id=1&ignition=true&door=false&rpm=933&fuel=24.5&dtc=P0301&temp=-3.5e0&Fuel_Type=diesel",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{
				"ignition": qm.BoolMetric(true), "door": qm.BoolMetric(false), "rpm": qm.NumberMetric(933), "fuel": qm.NumberMetric(24.5),
				"dtc": qm.StringMetric("P0301"), "temp": qm.NumberMetric(-3.5), "fuel_type": qm.StringMetric("diesel")}}},
		{"NotNumbersStayStrings", "id=1&a=NaN&b=Inf&c=1e999&d=0x10&e=1_000&f=True&g=12abc&h=-",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{
				"a": qm.StringMetric("NaN"), "b": qm.StringMetric("Inf"), "c": qm.StringMetric("1e999"), "d": qm.StringMetric("0x10"),
				"e": qm.StringMetric("1_000"), "f": qm.StringMetric("True"), "g": qm.StringMetric("12abc"), "h": qm.StringMetric("-")}}},
		{"DecimalForms", "id=1&a=%2B1.5&b=.5&c=5.&d=1E3",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{
				"a": qm.NumberMetric(1.5), "b": qm.NumberMetric(0.5), "c": qm.NumberMetric(5), "d": qm.NumberMetric(1000)}}},
		{"RepeatedParameterAgreeing", "id=1&fuel=20&fuel=20&fuel=",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{"fuel": qm.NumberMetric(20)}}},
		{"KeyIsNoMetric", "id=1&key=qmd_secret&lat=1&lon=2",
			"1", "qmd_secret", qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2}}},
		{"NamesWithoutCase", "ID=1&Key=qmd_secret&LAT=1&Lon=2&BATT=50&DriverUniqueID=7",
			"1", "qmd_secret", qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2},
				Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(50), "driver_unique_id": qm.StringMetric("7")}}},
		{"CellAndWifiKeptAsStrings", "id=1&cell=257,02,16,2224&wifi=00-14-22-01-23-45,-80",
			"1", "", qm.Point{Time: now, Metrics: map[string]qm.Metric{"cell": qm.StringMetric("257,02,16,2224"), "wifi": qm.StringMetric("00-14-22-01-23-45,-80")}}},
		{"OutOfRangeDecodesForValidate", "id=1&lat=91&lon=-181&bearing=400",
			"1", "", qm.Point{Time: now, Position: &qm.Position{Lat: 91, Lon: -181, Heading: ptr(400)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ingest.DecodeOsmAndQuery(v, now)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if q.Ident != tc.wantIdent || q.Key != tc.wantKey {
				t.Fatalf("got ident %q and key %q, want %q and %q", q.Ident, q.Key, tc.wantIdent, tc.wantKey)
			}
			if d := diffPoints([]qm.Point{q.Point}, []qm.Point{tc.want}); d != "" {
				t.Fatal(d)
			}
			checkRoundTrip(t, []qm.Point{q.Point})
		})
	}
}

func TestDecodeOsmAndQueryValidate(t *testing.T) {
	v, _ := url.ParseQuery("id=1&lat=91&lon=-181")
	q, err := ingest.DecodeOsmAndQuery(v, now)
	if err != nil {
		t.Fatal(err)
	}
	var e *qm.Error
	if err := q.Point.Validate(now, qm.DefaultPointLimits); !errors.As(err, &e) || e.Fields["lat"] == "" || e.Fields["lon"] == "" {
		t.Fatalf("got %v, want lat and lon reported", err)
	}
}

func TestDecodeOsmAndQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		query   url.Values
		wantMsg string
	}{
		{"MissingID", url.Values{"lat": {"1"}, "lon": {"2"}}, "id is required"},
		{"EmptyID", url.Values{"id": {""}}, "id is required"},
		{"IDAndDeviceIDDisagree", url.Values{"id": {"a"}, "deviceid": {"b"}}, "id and deviceid name different devices"},
		{"RepeatedIDDisagree", url.Values{"id": {"a", "b"}}, "id and deviceid name different devices"},
		{"LatWithoutLon", url.Values{"id": {"1"}, "lat": {"1"}}, "lat and lon must be given together"},
		{"LonWithoutLat", url.Values{"id": {"1"}, "lon": {"1"}}, "lat and lon must be given together"},
		{"LatAndLocation", url.Values{"id": {"1"}, "lat": {"1"}, "lon": {"2"}, "location": {"1,2"}}, "not both"},
		{"LatNotNumber", url.Values{"id": {"1"}, "lat": {"abc"}, "lon": {"2"}}, `lat "abc" is not a number`},
		{"LatNaN", url.Values{"id": {"1"}, "lat": {"NaN"}, "lon": {"2"}}, `lat "NaN" is not a number`},
		{"LonInf", url.Values{"id": {"1"}, "lat": {"1"}, "lon": {"-Inf"}}, `lon "-Inf" is not a number`},
		{"LatOverflow", url.Values{"id": {"1"}, "lat": {"1e999"}, "lon": {"2"}}, `lat "1e999" is out of range`},
		{"SpeedOverflowAfterKnots", url.Values{"id": {"1"}, "speed": {"1.7e308"}}, `speed "1.7e308" is out of range`},
		{"LocationOneNumber", url.Values{"id": {"1"}, "location": {"60.0"}}, "location longitude"},
		{"LocationThreeNumbers", url.Values{"id": {"1"}, "location": {"1,2,3"}}, `location longitude "2,3" is not a number`},
		{"LocationNotNumbers", url.Values{"id": {"1"}, "location": {"a,b"}}, `location latitude "a" is not a number`},
		{"BearingAndHeadingDisagree", url.Values{"id": {"1"}, "bearing": {"1"}, "heading": {"2"}}, "bearing and heading disagree"},
		{"HDOPNotNumber", url.Values{"id": {"1"}, "hdop": {"good"}}, `hdop "good" is not a number`},
		{"BattNotNumber", url.Values{"id": {"1"}, "batt": {"full"}}, `batt "full" is not a number`},
		{"TimestampGarbage", url.Values{"id": {"1"}, "timestamp": {"yesterday"}}, `timestamp "yesterday" is not epoch seconds`},
		{"TimestampNegative", url.Values{"id": {"1"}, "timestamp": {"-1"}}, `timestamp "-1" is not epoch seconds`},
		{"TimestampOverflowsInt64", url.Values{"id": {"1"}, "timestamp": {"99999999999999999999"}}, "is out of range"},
		{"TimestampPastYear9999", url.Values{"id": {"1"}, "timestamp": {"999999999999999999"}}, "is out of range"},
		{"TimestampBadDate", url.Values{"id": {"1"}, "timestamp": {"2024-02-30 10:00:00"}}, "is not epoch seconds"},
		{"NamesCollide", url.Values{"id": {"1"}, "Fuel": {"1"}, "fuel": {"2"}}, `parameters "Fuel" and "fuel" collide`},
		{"LatAndLAT", url.Values{"id": {"1"}, "lat": {"1"}, "LAT": {"1"}, "lon": {"2"}}, `parameters "LAT" and "lat" collide`},
		{"KeyAndKEY", url.Values{"id": {"1"}, "key": {"qmd_a"}, "KEY": {"qmd_a"}}, `parameters "KEY" and "key" collide`},
		{"RepeatedDisagree", url.Values{"id": {"1"}, "fuel": {"10", "20"}}, `parameter "fuel" is given more than once, with different values`},
		{"RepeatedLatDisagree", url.Values{"id": {"1"}, "lat": {"1", "2"}, "lon": {"2"}}, `parameter "lat" is given more than once`},
		{"RepeatedKeyDisagree", url.Values{"id": {"1"}, "key": {"qmd_a", "qmd_b"}}, `parameter "key" is given more than once`},
		{"MappedNameCollides", url.Values{"id": {"1"}, "batt": {"1"}, "battery_pct": {"2"}}, `"batt" and "battery_pct" both give metric "battery_pct"`},
		{"NameNotUTF8", url.Values{"id": {"1"}, "a\xff": {"1"}}, "not valid UTF-8"},
		{"ValueNotUTF8", url.Values{"id": {"1"}, "a": {"\xff"}}, `parameter "a" is not valid UTF-8`},
		{"IdentHoldsNUL", url.Values{"id": {"1\x00"}}, `parameter "id" holds a NUL byte`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ingest.DecodeOsmAndQuery(tc.query, now)
			if err == nil {
				t.Fatalf("got %+v, want an error", q)
			}
			checkError(t, err)
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestDecodeOsmAndJSON(t *testing.T) {
	ts := MustTime(t, "2025-06-15T13:45:12.862Z")
	// The example on traccar.org/osmand: speed 0 and heading -1 (unknown).
	traccarDoc := `{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}`
	for _, tc := range []struct {
		name      string
		body      string
		wantIdent string
		want      []qm.Point
	}{
		{"TraccarDocExample", traccarDoc, "48241179", []qm.Point{{Time: ts,
			Position: &qm.Position{Lat: 37.4219983, Lon: -122.084, AccuracyM: ptr(5), SpeedKMH: ptr(0), AltitudeM: ptr(5)},
			Metrics: map[string]qm.Metric{"moving": qm.BoolMetric(false), "odometer_km": qm.NumberMetric(0), "event": qm.StringMetric("motionchange"),
				"battery_pct": qm.NumberMetric(100), "charging": qm.BoolMetric(false), "activity": qm.StringMetric("still")}}}},
		{"Moving", `{"location":{"event":"motionchange","is_moving":true,"uuid":"0e9a2473","timestamp":"2025-06-15T13:45:12.862Z","odometer":1234.5,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"in_vehicle","confidence":100},"battery":{"is_charging":true,"level":0.79},"extras":{}},"device_id":"8737767034"}`,
			"8737767034", []qm.Point{{Time: ts,
				Position: &qm.Position{Lat: -6.1148096, Lon: 106.6837015, AccuracyM: ptr(3.8), SpeedKMH: ptr(67.212), Heading: ptr(63), AltitudeM: ptr(35.7)},
				Metrics: map[string]qm.Metric{"moving": qm.BoolMetric(true), "odometer_km": qm.NumberMetric(1.2345), "event": qm.StringMetric("motionchange"),
					"battery_pct": qm.NumberMetric(79), "charging": qm.BoolMetric(true), "activity": qm.StringMetric("in_vehicle")}}}},
		{"UnknownValuesLeftOut", `{"device_id":"658765","location":{"mock":true,"coords":{"speed":-1,"longitude":-122.406417,"latitude":37.785834000000001,"accuracy":-1,"altitude":0,"heading":-1,"floor":null},"battery":{"level":-1,"is_charging":false},"timestamp":"2025-06-15T13:45:12.862Z"}}`,
			"658765", []qm.Point{{Time: ts,
				Position: &qm.Position{Lat: 37.785834, Lon: -122.406417, AltitudeM: ptr(0)},
				Metrics:  map[string]qm.Metric{"mock": qm.BoolMetric(true), "charging": qm.BoolMetric(false)}}}},
		{"Extras", `{"device_id":"1","location":{"timestamp":"2025-06-15T13:45:12.862Z","extras":{"device_string_test":"long_device_id","Device_Bool_Test":true,"off":false,"count":1,"ratio":1.345,"big":1763636.3442,"nested":{"a":1},"list":[1],"nothing":null,"alarm":"sos"}}}`,
			"1", []qm.Point{{Time: ts, Metrics: map[string]qm.Metric{
				"device_string_test": qm.StringMetric("long_device_id"), "device_bool_test": qm.BoolMetric(true), "off": qm.BoolMetric(false),
				"count": qm.NumberMetric(1), "ratio": qm.NumberMetric(1.345), "big": qm.NumberMetric(1763636.3442), "alarm": qm.StringMetric("sos")}}}},
		{"NamedFieldBeatsExtra", `{"device_id":"1","location":{"timestamp":"2025-06-15T13:45:12.862Z","event":"heartbeat","alarm":"sos","extras":{"event":"x","fuel":3}}}`,
			"1", []qm.Point{{Time: ts, Metrics: map[string]qm.Metric{"event": qm.StringMetric("heartbeat"), "alarm": qm.StringMetric("sos"), "fuel": qm.NumberMetric(3)}}}},
		{"Batch", `{"device_id":"1","location":[{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":1,"longitude":2}},{"timestamp":"2025-06-15T13:45:13.862Z","coords":{"latitude":3,"longitude":4}}]}`,
			"1", []qm.Point{{Time: ts, Position: &qm.Position{Lat: 1, Lon: 2}}, {Time: ts.Add(time.Second), Position: &qm.Position{Lat: 3, Lon: 4}}}},
		{"BatchEmpty", `{"device_id":"1","location":[]}`, "1", nil},
		{"NoTimestampIsNow", `{"device_id":"1","location":{"coords":{"latitude":1,"longitude":2}}}`,
			"1", []qm.Point{{Time: now, Position: &qm.Position{Lat: 1, Lon: 2}}}},
		{"TimestampEpochString", `{"device_id":"1","location":{"timestamp":"1718459112"}}`,
			"1", []qm.Point{{Time: time.Unix(1718459112, 0)}}},
		{"NoCoordsNoPosition", `{"device_id":"1","location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"speed":3}}}`,
			"1", []qm.Point{{Time: ts}}},
		{"NumericDeviceID", `{"device_id":48241179,"location":{"timestamp":"2025-06-15T13:45:12.862Z"}}`,
			"48241179", []qm.Point{{Time: ts}}},
		{"OutOfRangeDecodesForValidate", `{"device_id":"1","location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":91,"longitude":-181,"heading":360}}}`,
			"1", []qm.Point{{Time: ts, Position: &qm.Position{Lat: 91, Lon: -181, Heading: ptr(360)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ident, pts, err := ingest.DecodeOsmAndJSON([]byte(tc.body), now)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if ident != tc.wantIdent {
				t.Fatalf("got ident %q, want %q", ident, tc.wantIdent)
			}
			if d := diffPoints(pts, tc.want); d != "" {
				t.Fatal(d)
			}
			checkRoundTrip(t, pts)
		})
	}
}

func TestDecodeOsmAndJSONErrors(t *testing.T) {
	loc := `"location":{"timestamp":"2025-06-15T13:45:12.862Z"}`
	for _, tc := range []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"Empty", ``, "malformed JSON"},
		{"Malformed", `{"device_id":"1",` + loc + `,}`, "malformed JSON at offset"},
		{"Truncated", `{"device_id":"1","location":{`, "malformed JSON"},
		{"NotObject", `[1]`, "body: want an object, got array"},
		{"Null", `null`, "device_id is required"},
		{"MissingDeviceID", `{` + loc + `}`, "device_id is required"},
		{"EmptyDeviceID", `{"device_id":"",` + loc + `}`, "device_id is required"},
		{"DeviceIDObject", `{"device_id":{},` + loc + `}`, "device_id is required"},
		{"MissingLocation", `{"device_id":"1"}`, "location is required"},
		{"LocationNumber", `{"device_id":"1","location":5}`, "location is required"},
		{"LocationArrayOfNumbers", `{"device_id":"1","location":[5]}`, "location[0] must be an object"},
		{"LocationArrayOfNulls", `{"device_id":"1","location":[{},null]}`, "location[1] must be an object"},
		{"LatitudeString", `{"device_id":"1","location":{"coords":{"latitude":"52.5","longitude":1}}}`, "location.coords.latitude: want a number, got string"},
		{"LatitudeOverflow", `{"device_id":"1","location":{"coords":{"latitude":1e999,"longitude":1}}}`, "location.coords.latitude: number 1e999 is out of range"},
		{"BatchLatitudeOverflow", `{"device_id":"1","location":[{},{"coords":{"latitude":1,"longitude":-1e999}}]}`, "location[1].coords.longitude: number -1e999 is out of range"},
		{"LatitudeOnly", `{"device_id":"1","location":{"coords":{"latitude":1}}}`, "latitude and longitude must be given together"},
		{"IsMovingString", `{"device_id":"1","location":{"is_moving":"yes"}}`, "location.is_moving: want true or false, got string"},
		{"BatteryNumber", `{"device_id":"1","location":{"battery":1}}`, "location.battery: want an object, got number"},
		{"TimestampGarbage", `{"device_id":"1","location":{"timestamp":"yesterday"}}`, `timestamp "yesterday" is not epoch seconds`},
		{"TimestampNumber", `{"device_id":"1","location":{"timestamp":1718459112}}`, "location.timestamp: want a string, got number"},
		{"SpeedOverflowAfterConversion", `{"device_id":"1","location":{"coords":{"latitude":1,"longitude":1,"speed":1e308}}}`, "location.coords.speed 1e+308 is out of range"},
		{"BatteryOverflowAfterConversion", `{"device_id":"1","location":{"battery":{"level":1e307}}}`, "location.battery.level 1e+307 is out of range"},
		{"ExtraOverflow", `{"device_id":"1","location":{"extras":{"odo":1e999}}}`, `location.extras."odo": number "1e999" is out of range`},
		{"ExtrasCollide", `{"device_id":"1","location":{"extras":{"Fuel":1,"fuel":2}}}`, `location.extras: "Fuel" and "fuel" both give metric "fuel"`},
		{"NaNLiteral", `{"device_id":"1","location":{"coords":{"latitude":NaN,"longitude":1}}}`, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ident, pts, err := ingest.DecodeOsmAndJSON([]byte(tc.body), now)
			if err == nil {
				t.Fatalf("got %q %d points, want an error", ident, len(pts))
			}
			checkError(t, err)
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

// FuzzDecodeOsmAndQuery checks that DecodeOsmAndQuery never panics, that
// its errors are ones a handler can show, that an accepted point names its
// device, is finite, UTF-8 and in range or reported by Validate, and that
// it survives the batch wire format and qm.Point JSON.
func FuzzDecodeOsmAndQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, query string) {
		v, _ := url.ParseQuery(query) // what parsed before an error still counts
		q, err := ingest.DecodeOsmAndQuery(v, now)
		if err != nil {
			checkError(t, err)
			return
		}
		if q.Ident == "" {
			t.Fatalf("accepted %q without a device id", query)
		}
		if _, stored := q.Point.Metrics["key"]; stored {
			t.Fatalf("accepted %q with the credential as a metric", query)
		}
		checkPoint(t, q.Point)
		checkRoundTrip(t, []qm.Point{q.Point})
	})
}

// FuzzDecodeOsmAndJSON is FuzzDecodeOsmAndQuery for the JSON form.
func FuzzDecodeOsmAndJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		ident, pts, err := ingest.DecodeOsmAndJSON(body, now)
		if err != nil {
			checkError(t, err)
			return
		}
		if ident == "" {
			t.Fatalf("accepted %q without a device id", body)
		}
		for _, p := range pts {
			checkPoint(t, p)
		}
		checkRoundTrip(t, pts)
	})
}
