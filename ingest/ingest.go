// Package ingest turns what devices send into qm.Points: the JSON batches
// of the HTTP and MQTT APIs (DecodeBatch) and both forms of the OsmAnd
// protocol spoken by Traccar Client and many hardware trackers
// (DecodeOsmAndQuery, DecodeOsmAndJSON).
//
// Decoders are pure: they read only the bytes or values given, never
// panic, and return a *qm.Error (EBadRequest, or ETooLarge for
// ErrTooManyPoints) saying what is wrong with input they cannot read. They
// do not apply a tenant's limits; callers run qm.Point.Validate on each
// point. A decoded point's numbers are always finite, its strings valid
// UTF-8, and its time representable in RFC 3339, so it can be stored and
// sent out again as JSON unchanged. Values converted between units (knots
// or m/s to km/h, metres to km, a 0–1 level to a percentage) are rounded to
// a millionth.
//
// # Metric names
//
// Metric names are lower-cased (ASCII letters only) on the way in. The
// batch API takes names as the device sends them. The OsmAnd decoders map
// protocol fields onto these names:
//
//	battery_pct       number  battery level, percent (query batt; JSON battery.level × 100)
//	charging          bool    charger connected (query charge; JSON battery.is_charging)
//	hdop              number  horizontal dilution of precision (query hdop)
//	valid             bool    the device calls its fix valid (query valid: true or 1)
//	driver_unique_id  string  driver identification, e.g. an iButton (query driverUniqueId)
//	moving            bool    the device thinks it is moving (JSON is_moving)
//	odometer_km       number  device-side odometer, km (JSON odometer, sent in metres)
//	event             string  why the device reported: motionchange, heartbeat… (JSON event)
//	activity          string  still, walking, in_vehicle… (JSON activity.type)
//	mock              bool    the position came from a mock provider (JSON mock)
//	alarm             string  an alarm such as sos (JSON alarm)
//
// Every other query parameter (but key, the device's credential, which is
// never stored) and every JSON extras entry becomes a metric under its own
// lower-cased name: a number when it is one (and finite), a boolean for
// true and false, a string otherwise.
package ingest

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// ErrTooManyPoints is the error (in the chain) when a batch holds more
// points than the caller allows. Its code is qm.ETooLarge (HTTP 413).
var ErrTooManyPoints = &qm.Error{Code: qm.ETooLarge, Message: "too many points in one batch"}

// The metric names the OsmAnd decoders produce; see the package doc.
const (
	metricBatteryPct     = "battery_pct"
	metricCharging       = "charging"
	metricHDOP           = "hdop"
	metricValid          = "valid"
	metricDriverUniqueID = "driver_unique_id"
	metricMoving         = "moving"
	metricOdometerKM     = "odometer_km"
	metricEvent          = "event"
	metricActivity       = "activity"
	metricMock           = "mock"
	metricAlarm          = "alarm"
)

// Unit conversions.
const (
	kmhPerKnot = 1.852
	kmhPerMPS  = 3.6
)

// badRequest returns the EBadRequest error for input that cannot be read.
func badRequest(format string, args ...any) error {
	return qm.Errorf(qm.EBadRequest, format, args...)
}

// lowerASCII lower-cases the ASCII letters of s, leaving other bytes alone
// so that lower-casing twice gives the same name.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.Map(func(r rune) rune {
				if 'A' <= r && r <= 'Z' {
					return r + ('a' - 'A')
				}
				return r
			}, s)
		}
	}
	return s
}

// convert multiplies v by a unit factor and rounds the result to a
// millionth, so conversions read as people expect: 27 knots is 50.004 km/h,
// not 50.004000000000005. Beyond a billion there is nothing to round.
func convert(v, factor float64) float64 {
	f := v * factor
	if math.Abs(f) < 1e9 {
		return math.Round(f*1e6) / 1e6
	}
	return f
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool {
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// quote quotes s for an error message, cut short so hostile input cannot
// flood a response or a log.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// epochMillisFrom is where an all-digit timestamp stops being seconds and
// starts being milliseconds: 1e11 s is the year 5138, 1e11 ms is March
// 1973. Traccar cuts at 2^31 instead, which would misread seconds after
// January 2038 as milliseconds.
const epochMillisFrom = 1e11

// parseTimestamp reads a device's time: epoch seconds, epoch milliseconds,
// RFC 3339, or "2006-01-02 15:04:05" and "2006-01-02T15:04:05" taken as
// UTC. Times outside the years 0 to 9999 are refused: RFC 3339 cannot
// write them.
func parseTimestamp(s string) (time.Time, error) {
	var t time.Time
	var err error
	switch {
	case isDigits(s):
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return time.Time{}, badRequest("timestamp %s is out of range", quote(s))
		}
		if n < epochMillisFrom {
			t = time.Unix(n, 0).UTC()
		} else {
			t = time.UnixMilli(n).UTC()
		}
	case strings.Contains(s, "T"):
		t, err = time.Parse(time.RFC3339, s)
		if err != nil {
			t, err = time.Parse("2006-01-02T15:04:05", s)
		}
	default:
		t, err = time.Parse(time.DateTime, s)
	}
	if err != nil {
		return time.Time{}, badRequest("timestamp %s is not epoch seconds or milliseconds, RFC 3339 or 2006-01-02 15:04:05", quote(s))
	}
	if !representable(t) {
		return time.Time{}, badRequest("timestamp %s is out of range", quote(s))
	}
	return t, nil
}

// representable reports whether t can be written in RFC 3339, both in its
// own zone and in UTC.
func representable(t time.Time) bool {
	y, u := t.Year(), t.UTC().Year()
	return 0 <= y && y <= 9999 && 0 <= u && u <= 9999
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
