package ingest

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/quartermaster/qm"
)

// DecodeBatch reads the points of one HTTP or MQTT batch body: a JSON array
// of point objects, a single point object, or NDJSON (one point object per
// line; blank lines are skipped). A point object is
//
//	{"time": "2025-06-15T13:45:12.862Z",
//	 "lat": 52.52, "lon": 13.405, "altitude_m": 34, "speed_kmh": 50.5,
//	 "heading": 270, "accuracy_m": 4.5,
//	 "metrics": {"battery_v": 12.6, "ignition": true, "dtc": "P0301"}}
//
// Every field may be left out or null. Position fields sit flat on the
// point, and lat and lon come together or not at all. A metric is a number,
// true, false or a string; its name is lower-cased. Unknown or repeated
// fields, repeated metric names, strings that are not UTF-8 and numbers too
// large for a float64 are errors, as is malformed JSON; the message names
// the line and column. More than maxPoints points is ErrTooManyPoints, so
// maxPoints <= 0 allows only an empty array.
//
// DecodeBatch reads r to the end; the caller bounds its size. Errors from r
// are returned wrapped. It does not apply limits: call qm.Point.Validate on
// each point.
//
// DecodeBatch is the server's hot path: it scans the bytes itself rather
// than through encoding/json, which measured about 100,000 points/s on one
// core, too close to the whole server's budget.
func DecodeBatch(r io.Reader, maxPoints int) ([]qm.Point, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	data := buf.Bytes()
	d := batchDecoder{data: data, max: maxPoints}
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		d.pos = 3 // a byte-order mark, as some Windows tools write
	}
	d.skipSpace()
	if d.pos == len(d.data) {
		return nil, badRequest("the body is empty: want a point object, an array of points or NDJSON")
	}
	var err error
	switch d.data[d.pos] {
	case '[':
		err = d.array()
	case '{':
		err = d.lines()
	default:
		err = d.errorf(d.pos, "want a point object, an array of points or NDJSON")
	}
	if err != nil {
		return nil, err
	}
	return d.pts, nil
}

// bodyBuffers hold batch bodies while they are decoded. Nothing decoded
// points into the body (strings are copied out), so a buffer is reused as
// soon as DecodeBatch returns; reading into a fresh one made half of
// DecodeBatch's garbage.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse, so one huge body does
// not stay in memory.
const maxPooledBody = 4 << 20

// batchDecoder scans one batch body.
type batchDecoder struct {
	data []byte
	pos  int
	max  int
	pts  []qm.Point
	// names maps a metric name as sent to its lower-cased string, so a
	// batch of a thousand points allocates each name once.
	names map[string]string
	// buf holds a string whose escapes have been undone.
	buf []byte
}

// maxInterned bounds names, so a batch of made-up names cannot grow it
// without end.
const maxInterned = 256

// array reads "[point, point, …]" and checks nothing follows.
func (d *batchDecoder) array() error {
	d.pos++
	d.skipSpace()
	if d.peek() == ']' {
		d.pos++
	} else {
		for {
			d.skipSpace()
			if err := d.point(); err != nil {
				return err
			}
			d.skipSpace()
			switch d.peek() {
			case ',':
				d.pos++
				continue
			case ']':
				d.pos++
			default:
				return d.errorf(d.pos, "want , or ] after point %d", len(d.pts))
			}
			break
		}
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf(d.pos, "unexpected data after the array of points")
	}
	return nil
}

// lines reads one point object per line; a body of one object is one line.
func (d *batchDecoder) lines() error {
	for {
		if err := d.point(); err != nil {
			return err
		}
		for d.pos < len(d.data) && (d.data[d.pos] == ' ' || d.data[d.pos] == '\t' || d.data[d.pos] == '\r') {
			d.pos++
		}
		if d.pos == len(d.data) {
			return nil
		}
		if d.data[d.pos] != '\n' {
			return d.errorf(d.pos, "want a new line after point %d", len(d.pts))
		}
		d.skipSpace()
		if d.pos == len(d.data) {
			return nil
		}
	}
}

// Field bits, to catch repeated fields and to know which were given.
const (
	fieldTime = 1 << iota
	fieldLat
	fieldLon
	fieldAltitude
	fieldSpeed
	fieldHeading
	fieldAccuracy
	fieldMetrics
)

// positionBox holds a Position and the values its pointers point at, so a
// point's position costs one allocation.
type positionBox struct {
	pos                           qm.Position
	altitude, speed, heading, acc float64
}

// point reads one point object and appends it to d.pts.
func (d *batchDecoder) point() error {
	if d.peek() != '{' {
		return d.errorf(d.pos, "point %d: want an object", len(d.pts)+1)
	}
	if len(d.pts) >= d.max {
		return fmt.Errorf("decode batch: more than %d points: %w", d.max, ErrTooManyPoints)
	}
	start := d.pos
	d.pos++
	var (
		p                                       qm.Point
		seen, given                             int
		lat, lon, alt, speed, heading, accuracy float64
	)
	d.skipSpace()
	if d.peek() == '}' {
		d.pos++
		d.pts = append(d.pts, p)
		return nil
	}
	for {
		d.skipSpace()
		keyAt := d.pos
		key, err := d.str()
		if err != nil {
			return err
		}
		// field names the key in errors; it is a constant, so naming it
		// costs nothing until there is an error.
		var (
			bit   int
			num   *float64
			field string
		)
		switch string(key) {
		case "time":
			bit, field = fieldTime, "time"
		case "lat":
			bit, num, field = fieldLat, &lat, "lat"
		case "lon":
			bit, num, field = fieldLon, &lon, "lon"
		case "altitude_m":
			bit, num, field = fieldAltitude, &alt, "altitude_m"
		case "speed_kmh":
			bit, num, field = fieldSpeed, &speed, "speed_kmh"
		case "heading":
			bit, num, field = fieldHeading, &heading, "heading"
		case "accuracy_m":
			bit, num, field = fieldAccuracy, &accuracy, "accuracy_m"
		case "metrics":
			bit, field = fieldMetrics, "metrics"
		default:
			return d.errorf(keyAt, "point %d: unknown field %s", len(d.pts)+1, quote(string(key)))
		}
		if seen&bit != 0 {
			return d.errorf(keyAt, "point %d: field %s given twice", len(d.pts)+1, field)
		}
		seen |= bit
		if err = d.colon(); err != nil {
			return err
		}
		// null is the same as leaving the field out.
		if !d.null() {
			given |= bit
			switch {
			case num != nil:
				if *num, err = d.number(field, ""); err != nil {
					return err
				}
			case bit == fieldTime:
				if p.Time, err = d.time(); err != nil {
					return err
				}
			default:
				if p.Metrics, err = d.metrics(); err != nil {
					return err
				}
			}
		}
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.pos++
			continue
		case '}':
			d.pos++
		default:
			return d.errorf(d.pos, "point %d: want , or } after a field", len(d.pts)+1)
		}
		break
	}

	const besideLatLon = fieldAltitude | fieldSpeed | fieldHeading | fieldAccuracy
	switch {
	case given&fieldLat != 0 && given&fieldLon != 0:
		b := &positionBox{pos: qm.Position{Lat: lat, Lon: lon}}
		if given&fieldAltitude != 0 {
			b.altitude, b.pos.AltitudeM = alt, &b.altitude
		}
		if given&fieldSpeed != 0 {
			b.speed, b.pos.SpeedKMH = speed, &b.speed
		}
		if given&fieldHeading != 0 {
			b.heading, b.pos.Heading = heading, &b.heading
		}
		if given&fieldAccuracy != 0 {
			b.acc, b.pos.AccuracyM = accuracy, &b.acc
		}
		p.Position = &b.pos
	case given&(fieldLat|fieldLon) != 0:
		return d.errorf(start, "point %d: lat and lon must be given together", len(d.pts)+1)
	case given&besideLatLon != 0:
		return d.errorf(start, "point %d: altitude_m, speed_kmh, heading and accuracy_m need lat and lon", len(d.pts)+1)
	}
	d.pts = append(d.pts, p)
	return nil
}

// time reads an RFC 3339 string.
func (d *batchDecoder) time() (time.Time, error) {
	at := d.pos
	if d.peek() != '"' {
		return time.Time{}, d.errorf(at, "point %d: time must be an RFC 3339 string", len(d.pts)+1)
	}
	s, err := d.str()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil || !representable(t) {
		return time.Time{}, d.errorf(at, "point %d: time %s is not an RFC 3339 date-time such as 2025-06-15T13:45:12Z", len(d.pts)+1, quote(string(s)))
	}
	return t, nil
}

// metrics reads the metrics object; an empty one gives a nil map.
func (d *batchDecoder) metrics() (map[string]qm.Metric, error) {
	if d.peek() != '{' {
		return nil, d.errorf(d.pos, "point %d: metrics must be an object", len(d.pts)+1)
	}
	d.pos++
	d.skipSpace()
	if d.peek() == '}' {
		d.pos++
		return nil, nil
	}
	var ms map[string]qm.Metric
	for {
		d.skipSpace()
		keyAt := d.pos
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		name := d.name(key)
		if err := d.colon(); err != nil {
			return nil, err
		}
		var m qm.Metric
		switch c := d.peek(); {
		case c == '"':
			s, err := d.str()
			if err != nil {
				return nil, err
			}
			m = qm.StringMetric(string(s))
		case c == 't' && bytes.HasPrefix(d.data[d.pos:], []byte("true")):
			d.pos += len("true")
			m = qm.BoolMetric(true)
		case c == 'f' && bytes.HasPrefix(d.data[d.pos:], []byte("false")):
			d.pos += len("false")
			m = qm.BoolMetric(false)
		case c == '-' || '0' <= c && c <= '9':
			f, err := d.number("", name)
			if err != nil {
				return nil, err
			}
			m = qm.NumberMetric(f)
		default:
			return nil, d.errorf(d.pos, "point %d: metric %s must be a number, true, false or a string", len(d.pts)+1, quote(name))
		}
		if ms == nil {
			ms = make(map[string]qm.Metric, 4)
		}
		if _, dup := ms[name]; dup {
			return nil, d.errorf(keyAt, "point %d: metric %s given twice", len(d.pts)+1, quote(name))
		}
		ms[name] = m
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.pos++
			continue
		case '}':
			d.pos++
		default:
			return nil, d.errorf(d.pos, "point %d: want , or } after a metric", len(d.pts)+1)
		}
		return ms, nil
	}
}

// name returns the lower-cased metric name for key, interned.
func (d *batchDecoder) name(key []byte) string {
	if s, ok := d.names[string(key)]; ok {
		return s
	}
	s := lowerASCII(string(key))
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxInterned {
		d.names[string(key)] = s
	}
	return s
}

// number reads a JSON number as a float64. Errors name the field, or the
// metric when metric is not "".
func (d *batchDecoder) number(field, metric string) (float64, error) {
	what := func() string {
		if metric != "" {
			return "metric " + quote(metric)
		}
		return field
	}
	start, i, n := d.pos, d.pos, len(d.data)
	digits := func() bool {
		from := i
		for i < n && '0' <= d.data[i] && d.data[i] <= '9' {
			i++
		}
		return i > from
	}
	if i < n && d.data[i] == '-' {
		i++
	}
	switch {
	case i < n && d.data[i] == '0':
		i++
	case !digits():
		return 0, d.errorf(start, "point %d: %s must be a number", len(d.pts)+1, what())
	}
	if i < n && d.data[i] == '.' {
		i++
		if !digits() {
			return 0, d.errorf(i, "point %d: want a digit after the decimal point", len(d.pts)+1)
		}
	}
	if i < n && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < n && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			return 0, d.errorf(i, "point %d: want a digit in the exponent", len(d.pts)+1)
		}
	}
	f, err := strconv.ParseFloat(string(d.data[start:i]), 64)
	if err != nil {
		// The syntax is checked above, so this is a number beyond ±1.8e308.
		return 0, d.errorf(start, "point %d: %s %s is out of range", len(d.pts)+1, what(), quote(string(d.data[start:i])))
	}
	d.pos = i
	return f, nil
}

// str reads a JSON string and returns its bytes: a slice of the body when
// it has no escapes, else of d.buf, valid until the next call.
func (d *batchDecoder) str() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.errorf(d.pos, "point %d: want a string", len(d.pts)+1)
	}
	start := d.pos
	for i := start + 1; i < len(d.data); {
		switch c := d.data[i]; {
		case c == '"':
			d.pos = i + 1
			return d.data[start+1 : i], nil
		case c == '\\':
			d.buf = append(d.buf[:0], d.data[start+1:i]...)
			return d.unescape(start, i)
		case c < 0x20:
			return nil, d.errorf(i, "point %d: control character in a string", len(d.pts)+1)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, d.errorf(i, "point %d: a string is not valid UTF-8", len(d.pts)+1)
			}
			i += size
		}
	}
	return nil, d.errorf(start, "point %d: string not closed", len(d.pts)+1)
}

// unescape finishes a string that started at start and has an escape at i,
// writing it to d.buf. Lone surrogates become U+FFFD, as encoding/json does.
func (d *batchDecoder) unescape(start, i int) ([]byte, error) {
	n := len(d.data)
	for i < n {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.buf, nil
		case c < 0x20:
			return nil, d.errorf(i, "point %d: control character in a string", len(d.pts)+1)
		case c == '\\':
			if i+1 == n {
				return nil, d.errorf(start, "point %d: string not closed", len(d.pts)+1)
			}
			esc := d.data[i+1]
			i += 2
			switch esc {
			case '"', '\\', '/':
				d.buf = append(d.buf, esc)
			case 'b':
				d.buf = append(d.buf, '\b')
			case 'f':
				d.buf = append(d.buf, '\f')
			case 'n':
				d.buf = append(d.buf, '\n')
			case 'r':
				d.buf = append(d.buf, '\r')
			case 't':
				d.buf = append(d.buf, '\t')
			case 'u':
				r, ok := hex4(d.data[i:])
				if !ok {
					return nil, d.errorf(i-2, "point %d: want four hex digits after \\u", len(d.pts)+1)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					lo, ok := rune(-1), false
					if i+6 <= n && d.data[i] == '\\' && d.data[i+1] == 'u' {
						lo, ok = hex4(d.data[i+2:])
					}
					if pair := utf16.DecodeRune(r, lo); ok && pair != utf8.RuneError {
						r = pair
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				d.buf = utf8.AppendRune(d.buf, r)
			default:
				return nil, d.errorf(i-2, "point %d: invalid escape \\%c in a string", len(d.pts)+1, esc)
			}
		case c < utf8.RuneSelf:
			d.buf = append(d.buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, d.errorf(i, "point %d: a string is not valid UTF-8", len(d.pts)+1)
			}
			d.buf = append(d.buf, d.data[i:i+size]...)
			i += size
		}
	}
	return nil, d.errorf(start, "point %d: string not closed", len(d.pts)+1)
}

// hex4 reads four hex digits from the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// colon reads the ':' between a name and its value, and the space around.
func (d *batchDecoder) colon() error {
	d.skipSpace()
	if d.peek() != ':' {
		return d.errorf(d.pos, "point %d: want : after a field name", len(d.pts)+1)
	}
	d.pos++
	d.skipSpace()
	return nil
}

// null reads a null if one is next.
func (d *batchDecoder) null() bool {
	if bytes.HasPrefix(d.data[d.pos:], []byte("null")) {
		d.pos += len("null")
		return true
	}
	return false
}

// peek returns the next byte, or 0 at the end.
func (d *batchDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// skipSpace moves past JSON white space.
func (d *batchDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// errorf returns an EBadRequest error for the byte at offset off, naming
// its line and column (both from 1; columns count bytes).
func (d *batchDecoder) errorf(off int, format string, args ...any) error {
	if off > len(d.data) {
		off = len(d.data)
	}
	line := 1 + bytes.Count(d.data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(d.data[:off], '\n')
	if off == len(d.data) {
		return badRequest("line %d, column %d (end of body): %s", line, col, fmt.Sprintf(format, args...))
	}
	return badRequest("line %d, column %d: %s", line, col, fmt.Sprintf(format, args...))
}
