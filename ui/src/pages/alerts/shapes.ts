// Geofence shapes as the maps draw them and the forms type them: a circle
// (a Point with radius_m in the API) drawn as a polygon around its centre,
// a polygon's ring typed one point a line. Whether a shape is right is the
// server's to say; this only turns what the page holds into GeoJSON and back.
import type { Geofence } from './alerts';

/** A position as GeoJSON orders it: [longitude, latitude]. */
export type LonLat = [number, number];

export type Shape = Geofence['shape'];

/** The Earth's mean radius in metres (IUGG), as the server measures circles. */
const earthM = 6_371_008.8;

/**
 * The closed ring of steps points around center at radiusM metres on the
 * Earth's surface, so a circle draws as the area it covers.
 */
export function circleRing(center: LonLat, radiusM: number, steps = 64): LonLat[] {
  const rad = Math.PI / 180;
  const [lon, lat] = [center[0] * rad, center[1] * rad];
  const d = radiusM / earthM;
  const ring: LonLat[] = [];
  for (let i = 0; i < steps; i++) {
    const bearing = (2 * Math.PI * i) / steps;
    const lat2 = Math.asin(Math.sin(lat) * Math.cos(d) + Math.cos(lat) * Math.sin(d) * Math.cos(bearing));
    const lon2 = lon + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(lat), Math.cos(d) - Math.sin(lat) * Math.sin(lat2));
    ring.push([lon2 / rad, lat2 / rad]);
  }
  ring.push(ring[0]!);
  return ring;
}

/** A ring as given, closed: its last position its first (as RFC 7946 and the server want). */
export function closed(points: LonLat[]): LonLat[] {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last || (first[0] === last[0] && first[1] === last[1])) return points;
  return [...points, first];
}

/** A ring without the position that closes it: the vertices a person drew. */
export function vertices(ring: LonLat[]): LonLat[] {
  return ring.length > 1 ? closed(ring).slice(0, -1) : ring;
}

/** The circle's centre and radius, for a circle; null for a polygon. */
export function circleOf(shape: Shape): { center: LonLat; radiusM: number } | null {
  if (shape.geometry.type !== 'Point') return null;
  return { center: shape.geometry.coordinates as LonLat, radiusM: shape.properties?.radius_m ?? 0 };
}

/** The polygons of a shape, each rings of positions (none for a circle). */
export function polygonsOf(shape: Shape): LonLat[][][] {
  const g = shape.geometry;
  if (g.type === 'Polygon') return [g.coordinates as LonLat[][]];
  if (g.type === 'MultiPolygon') return g.coordinates as LonLat[][][];
  return [];
}

/** The area a shape covers as a GeoJSON geometry: a circle as its ring. */
export function outline(shape: Shape): GeoJSON.Polygon | GeoJSON.MultiPolygon {
  const c = circleOf(shape);
  if (c) return { type: 'Polygon', coordinates: [circleRing(c.center, c.radiusM)] };
  const polys = polygonsOf(shape);
  return polys.length === 1 ? { type: 'Polygon', coordinates: polys[0]! } : { type: 'MultiPolygon', coordinates: polys };
}

/** The outer positions of a shape, to fit a map to it. */
export function extent(shape: Shape): LonLat[] {
  const o = outline(shape);
  const polys = o.type === 'Polygon' ? [o.coordinates] : o.coordinates;
  return polys.flatMap((p) => (p[0] ?? []) as LonLat[]);
}

/** Geofences as features a map draws, each named. */
export function geofenceFeatures(geofences: Geofence[]): GeoJSON.FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: geofences.map((g) => ({ type: 'Feature', id: g.id, properties: { id: g.id, name: g.name }, geometry: outline(g.shape) })),
  };
}

/** The GeoJSON circle the API takes: a Point with its radius. */
export function circleShape(center: LonLat, radiusM: number): Shape {
  return { type: 'Feature', geometry: { type: 'Point', coordinates: center }, properties: { radius_m: radiusM } };
}

/** The GeoJSON polygon the API takes: the outer ring closed, then any holes. */
export function polygonShape(outer: LonLat[], holes: LonLat[][] = []): Shape {
  return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [closed(outer), ...holes] } };
}

/** A position picked on a map, to six decimals (about a tenth of a metre): what a click can mean. */
export function picked(lon: number, lat: number): LonLat {
  const round = (n: number) => Math.round(n * 1e6) / 1e6;
  return [round(lon), round(lat)];
}

/** Points as typed: one a line, latitude then longitude (as the circle's fields are ordered). */
export function pointsText(points: LonLat[]): string {
  return points.map(([lon, lat]) => `${lat}, ${lon}`).join('\n');
}

/**
 * The points typed, one a line as "latitude, longitude", and the numbers
 * (from 1) of the lines that are not two numbers, which are left out. A
 * last point that repeats the first (a closed ring pasted in) is dropped.
 */
export function parsePoints(text: string): { points: LonLat[]; bad: number[] } {
  const points: LonLat[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const parts = line.trim().split(/[\s,;]+/).map(Number);
    const [lat, lon] = parts;
    if (parts.length !== 2 || !Number.isFinite(lat) || !Number.isFinite(lon)) bad.push(i + 1);
    else points.push([lon!, lat!]);
  });
  return { points: vertices(points), bad };
}

/** A number a form field holds (a number input's bound value is a number once typed in), or null when empty. */
export function fieldNumber(v: unknown): number | null {
  const t = String(v ?? '').trim();
  return t === '' || !Number.isFinite(Number(t)) ? null : Number(t);
}

/** How the geofence form holds a shape: a circle's fields, a polygon's points typed, or the shape kept as it is. */
export interface ShapeForm {
  kind: 'circle' | 'polygon' | 'kept';
  latitude: string;
  longitude: string;
  radius_m: string;
  /** The outer ring's vertices, one a line (pointsText). */
  points: string;
  /** The holes of a polygon being changed, kept until it is cleared. */
  holes: LonLat[][];
}

/**
 * The form of a shape: a circle's centre and radius, a polygon's outer
 * ring as points (its holes kept), or for several polygons nothing to
 * change (kept unless drawn anew). A new geofence starts as a circle.
 */
export function shapeForm(shape?: Shape): ShapeForm {
  const c = shape ? circleOf(shape) : null;
  const polys = shape ? polygonsOf(shape) : [];
  const one = polys.length === 1 ? polys[0]! : null;
  return {
    kind: !shape || c ? 'circle' : one ? 'polygon' : 'kept',
    latitude: c ? String(c.center[1]) : '',
    longitude: c ? String(c.center[0]) : '',
    radius_m: c ? String(c.radiusM) : '',
    points: one ? pointsText(vertices(one[0] ?? [])) : '',
    holes: one ? one.slice(1) : [],
  };
}

/** The shape the form describes, as the API takes it; undefined when kept. */
export function formShape(f: ShapeForm): Shape | undefined {
  const n = (v: string) => fieldNumber(v) ?? 0;
  if (f.kind === 'circle') return circleShape([n(f.longitude), n(f.latitude)], n(f.radius_m));
  if (f.kind === 'polygon') return polygonShape(parsePoints(f.points).points, f.holes);
  return undefined;
}
