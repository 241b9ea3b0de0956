package qm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Geofence is an area a tenant draws on the map, for rules that fire when a
// device enters or leaves it: a circle, or a polygon (with holes) or several.
// In the API it is a GeoJSON Feature (RFC 7946): a Point geometry with the
// property radius_m is a circle; a Polygon or MultiPolygon is itself.
type Geofence struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Shape     Shape     `json:"shape"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Bounds on a geofence: a vertex count that keeps a containment test cheap
// on every point, a circle from a parking bay to a country.
const (
	MaxGeofenceVertices = 10_000
	MinCircleRadiusM    = 1
	MaxCircleRadiusM    = 1_000_000
	// maxPolygonSpanDeg refuses a polygon spanning more than half the
	// globe in longitude: RFC 7946 has shapes crossing the antimeridian
	// split in two, and a ring that wide is one drawn the wrong way round.
	maxPolygonSpanDeg = 180
)

// Shape is a geofence's geometry: a circle (Center and RadiusM) or
// polygons. Each polygon is rings of [lon, lat] positions, the first the
// outer boundary and the rest holes, each ring closed (its last position
// is its first). It keeps its bounding box, so most points far away are
// ruled out at once; so a Shape is made by CircleShape, PolygonShape or
// UnmarshalJSON, which check it, never as a literal.
type Shape struct {
	Center   *Position        `json:"-"`
	RadiusM  float64          `json:"-"`
	Polygons [][][][2]float64 `json:"-"` // polygon → ring → position
	box      box
}

type box struct{ minLon, minLat, maxLon, maxLat float64 }

func (b box) holds(lon, lat float64) bool {
	return lon >= b.minLon && lon <= b.maxLon && lat >= b.minLat && lat <= b.maxLat
}

// Contains reports whether pos lies inside the shape: within the radius
// of a circle (on the Earth's surface), or inside a polygon's outer ring
// and outside its holes (in longitude and latitude as plane coordinates,
// exact enough for geofences of a city's size or less). A point on an edge
// may fall either side.
func (s *Shape) Contains(pos Position) bool {
	if s.Center != nil {
		return DistanceKM(*s.Center, pos)*1000 <= s.RadiusM
	}
	if !s.box.holds(pos.Lon, pos.Lat) {
		return false
	}
	for _, poly := range s.Polygons {
		if inRing(poly[0], pos.Lon, pos.Lat) && !inAnyHole(poly[1:], pos.Lon, pos.Lat) {
			return true
		}
	}
	return false
}

func inAnyHole(holes [][][2]float64, x, y float64) bool {
	for _, h := range holes {
		if inRing(h, x, y) {
			return true
		}
	}
	return false
}

// inRing is the even-odd rule: a ray from (x, y) crosses the ring's edges
// an odd number of times when the point is inside.
func inRing(ring [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// geoJSON is the Feature the API reads and writes.
type geoJSON struct {
	Type       string          `json:"type"`
	Geometry   *geoGeometry    `json:"geometry"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

type geoGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

type circleProperties struct {
	RadiusM float64 `json:"radius_m"`
}

// MarshalJSON writes the shape as a GeoJSON Feature.
func (s Shape) MarshalJSON() ([]byte, error) {
	f := geoJSON{Type: "Feature", Geometry: &geoGeometry{}}
	var coords any
	switch {
	case s.Center != nil:
		f.Geometry.Type, coords = "Point", [2]float64{s.Center.Lon, s.Center.Lat}
		props, err := json.Marshal(circleProperties{RadiusM: s.RadiusM})
		if err != nil {
			return nil, err
		}
		f.Properties = props
	case len(s.Polygons) == 1:
		f.Geometry.Type, coords = "Polygon", s.Polygons[0]
	default:
		f.Geometry.Type, coords = "MultiPolygon", s.Polygons
	}
	raw, err := json.Marshal(coords)
	if err != nil {
		return nil, err
	}
	f.Geometry.Coordinates = raw
	return json.Marshal(f)
}

// UnmarshalJSON reads a GeoJSON Feature (or a bare geometry) and checks it:
// an EInvalid *Error says what is wrong, under the field "shape".
func (s *Shape) UnmarshalJSON(data []byte) error {
	var f geoJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return shapeError("is not GeoJSON: %v", err)
	}
	g := f.Geometry
	switch f.Type {
	case "Feature":
		if g == nil {
			return shapeError("the Feature has no geometry")
		}
	case "Point", "Polygon", "MultiPolygon":
		g = &geoGeometry{Type: f.Type}
		var bare struct {
			Coordinates json.RawMessage `json:"coordinates"`
		}
		if err := json.Unmarshal(data, &bare); err != nil {
			return shapeError("is not GeoJSON: %v", err)
		}
		g.Coordinates = bare.Coordinates
	default:
		return shapeError("must be a GeoJSON Feature, Point, Polygon or MultiPolygon, not %q", f.Type)
	}
	var (
		next Shape
		err  error
	)
	switch g.Type {
	case "Point":
		var c [2]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return shapeError("a Point's coordinates must be [longitude, latitude]")
		}
		var props circleProperties
		if len(f.Properties) > 0 && string(f.Properties) != "null" {
			if err := json.Unmarshal(f.Properties, &props); err != nil {
				return shapeError("properties: %v", err)
			}
		}
		next, err = CircleShape(Position{Lon: c[0], Lat: c[1]}, props.RadiusM)
	case "Polygon":
		var poly [][][2]float64
		if err := json.Unmarshal(g.Coordinates, &poly); err != nil {
			return shapeError("a Polygon's coordinates must be rings of [longitude, latitude] positions")
		}
		next, err = PolygonShape([][][][2]float64{poly})
	case "MultiPolygon":
		var polys [][][][2]float64
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return shapeError("a MultiPolygon's coordinates must be polygons of rings of [longitude, latitude] positions")
		}
		next, err = PolygonShape(polys)
	default:
		return shapeError("the geometry must be a Point (with radius_m), Polygon or MultiPolygon, not %q", g.Type)
	}
	if err != nil {
		return err
	}
	*s = next
	return nil
}

// CircleShape is the circle of radiusM metres around center. EInvalid for
// a position off the globe or a radius out of bounds.
func CircleShape(center Position, radiusM float64) (Shape, error) {
	if err := checkPosition([2]float64{center.Lon, center.Lat}); err != nil {
		return Shape{}, err
	}
	if !(radiusM >= MinCircleRadiusM && radiusM <= MaxCircleRadiusM) {
		return Shape{}, shapeError("a circle needs the property radius_m, from %d to %d metres", MinCircleRadiusM, MaxCircleRadiusM)
	}
	return Shape{Center: &Position{Lon: center.Lon, Lat: center.Lat}, RadiusM: radiusM}, nil
}

// PolygonShape is the polygons given (see Shape). EInvalid for a ring that
// is too short or open, a position off the globe, too many positions, or a
// shape spanning more than half the globe.
func PolygonShape(polygons [][][][2]float64) (Shape, error) {
	s := Shape{Polygons: polygons}
	return s, s.checkPolygons()
}

// checkPolygons checks every ring and computes the bounding box.
func (s *Shape) checkPolygons() error {
	if len(s.Polygons) == 0 {
		return shapeError("has no polygon")
	}
	s.box = box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	vertices := 0
	for i, poly := range s.Polygons {
		if len(poly) == 0 {
			return shapeError("polygon %d has no ring", i+1)
		}
		for j, ring := range poly {
			what := fmt.Sprintf("polygon %d, ring %d", i+1, j+1)
			if len(ring) < 4 {
				return shapeError("%s has %d positions: a ring needs at least 4, the last the same as the first", what, len(ring))
			}
			if ring[0] != ring[len(ring)-1] {
				return shapeError("%s is not closed: its last position must be its first", what)
			}
			if vertices += len(ring); vertices > MaxGeofenceVertices {
				return shapeError("has more than %d positions", MaxGeofenceVertices)
			}
			for _, c := range ring {
				if err := checkPosition(c); err != nil {
					return err
				}
				if j == 0 {
					s.box = box{min(s.box.minLon, c[0]), min(s.box.minLat, c[1]), max(s.box.maxLon, c[0]), max(s.box.maxLat, c[1])}
				}
			}
		}
	}
	if s.box.maxLon-s.box.minLon > maxPolygonSpanDeg {
		return shapeError("spans more than %d° of longitude: split a shape crossing the antimeridian in two (RFC 7946)", maxPolygonSpanDeg)
	}
	return nil
}

func checkPosition(c [2]float64) error {
	lon, lat := c[0], c[1]
	if !(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90) {
		return shapeError("position [%g, %g] is not [longitude, latitude] within [-180, 180] and [-90, 90]", lon, lat)
	}
	return nil
}

func shapeError(format string, args ...any) error {
	msg := "shape " + fmt.Sprintf(format, args...)
	return &Error{Code: EInvalid, Message: msg, Fields: map[string]string{"shape": msg}}
}

// Normalize trims the name.
func (g *Geofence) Normalize() { g.Name = strings.TrimSpace(g.Name) }

// Validate checks what UnmarshalJSON cannot: a name, and a shape at all.
func (g *Geofence) Validate() error {
	fields := map[string]string{}
	switch {
	case g.Name == "":
		fields["name"] = "name is required"
	case len(g.Name) > 200:
		fields["name"] = "name is longer than 200 bytes"
	}
	if g.Shape.Center == nil && len(g.Shape.Polygons) == 0 {
		fields["shape"] = "shape is required: a GeoJSON Point with radius_m, a Polygon or a MultiPolygon"
	}
	return fieldsError(fields)
}

// GeofenceUpdate changes the fields that are set.
type GeofenceUpdate struct {
	Name  *string `json:"name,omitempty"`
	Shape *Shape  `json:"shape,omitempty"`
}

// GeofenceService manages a tenant's geofences. The tenant is taken from
// the context (package tenancy); a geofence of another tenant is ENotFound,
// as if it did not exist. Every change is audited.
type GeofenceService interface {
	// CreateGeofence validates g, assigns its ID and timestamps, and
	// stores it. EInvalid; EConflict when the tenant has a geofence of that
	// name; ELimitReached past max_geofences.
	CreateGeofence(ctx context.Context, g *Geofence) error
	// Geofence returns one geofence. ENotFound.
	Geofence(ctx context.Context, id string) (*Geofence, error)
	// Geofences lists the tenant's geofences by name.
	Geofences(ctx context.Context) ([]*Geofence, error)
	// UpdateGeofence changes the set fields of u and returns the result.
	// ENotFound, EInvalid, EConflict as for CreateGeofence.
	UpdateGeofence(ctx context.Context, id string, u GeofenceUpdate) (*Geofence, error)
	// DeleteGeofence removes a geofence. ENotFound; EConflict while a rule
	// watches it.
	DeleteGeofence(ctx context.Context, id string) error
}
