// The fleet's maps: MapLibre GL with the base map the server names (a
// style, or a PMTiles archive), or else the world's country outlines
// bundled with the console, so a map draws without any tile server. Only
// the pages that draw maps import this module, so MapLibre ships to them
// alone.
import * as maplibregl from 'maplibre-gl';
import type { StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import countriesUrl from 'world-atlas/countries-110m.json?url';
import { feature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import { Protocol } from 'pmtiles';
import { api, must, type Schemas } from '../../api/client';

// The worker is a file the console serves, not a blob: MapLibre's default
// would look for it beside its own module, which the bundler renamed.
maplibregl.setWorkerUrl(workerUrl);

export { maplibregl };
export type MapLibreMap = maplibregl.Map;

type MapConfig = Partial<Schemas['mapConfig']>;

let configAnswer: Promise<MapConfig> | null = null;

/** Asks the server once which base map to draw; an error means the bundled outline. */
function mapConfig(): Promise<MapConfig> {
  configAnswer ??= must(api.GET('/api/v1/map')).catch((): MapConfig => ({}));
  return configAnswer;
}

let outlines: Promise<GeoJSON.FeatureCollection> | null = null;

/** The world's countries, from Natural Earth's 1:110m data (world-atlas). */
function countries(): Promise<GeoJSON.FeatureCollection> {
  outlines ??= fetch(countriesUrl)
    .then((r) => r.json() as Promise<Topology>)
    .then((topo) => {
      const object = topo.objects['countries'];
      if (!object) throw new Error('world-atlas has no countries');
      return feature(topo, object) as GeoJSON.FeatureCollection;
    });
  return outlines;
}

const colors = {
  sea: '#dbe8f3',
  land: '#f5f3ee',
  border: '#a9a39a',
};

/** The bundled base map: land over sea, with country borders. */
async function outlineStyle(): Promise<StyleSpecification> {
  return {
    version: 8,
    sources: { countries: { type: 'geojson', data: await countries() } },
    layers: [
      { id: 'sea', type: 'background', paint: { 'background-color': colors.sea } },
      { id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': colors.land } },
      { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': colors.border, 'line-width': 0.6 } },
    ],
  };
}

let pmtilesAdded = false;

/**
 * A base map from a PMTiles archive in the Protomaps basemap schema
 * (earth, water, landuse, roads, boundaries), drawn without labels, so no
 * glyphs are needed.
 */
function pmtilesStyle(url: string): StyleSpecification {
  if (!pmtilesAdded) {
    maplibregl.addProtocol('pmtiles', new Protocol().tile);
    pmtilesAdded = true;
  }
  const src = 'basemap';
  return {
    version: 8,
    sources: { [src]: { type: 'vector', url: `pmtiles://${new URL(url, window.location.href).href}` } },
    layers: [
      { id: 'sea', type: 'background', paint: { 'background-color': colors.sea } },
      { id: 'earth', type: 'fill', source: src, 'source-layer': 'earth', paint: { 'fill-color': colors.land } },
      { id: 'water', type: 'fill', source: src, 'source-layer': 'water', paint: { 'fill-color': colors.sea } },
      { id: 'roads', type: 'line', source: src, 'source-layer': 'roads', paint: { 'line-color': '#d8d2c8', 'line-width': 1 } },
      { id: 'boundaries', type: 'line', source: src, 'source-layer': 'boundaries', paint: { 'line-color': colors.border, 'line-width': 0.8 } },
    ],
  };
}

/** The base map's style: the server's, or the bundled outlines. */
async function baseStyle(): Promise<StyleSpecification | string> {
  const cfg = await mapConfig();
  if (cfg.style_url) return cfg.style_url;
  if (cfg.pmtiles_url) return pmtilesStyle(cfg.pmtiles_url);
  return outlineStyle();
}

/**
 * Draws a map into container and resolves once its style has loaded, so
 * callers can add sources and layers. label names the map for assistive
 * technology. gone says whether the page that asked has been left: the map
 * is then removed, and the answer is null.
 */
export async function createMap(container: HTMLElement, label: string, gone: () => boolean): Promise<maplibregl.Map | null> {
  const style = await baseStyle();
  const map = new maplibregl.Map({
    container,
    style,
    center: [10, 30],
    zoom: 1,
    attributionControl: false,
  });
  map.getCanvas().setAttribute('aria-label', label);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: 'Natural Earth' }));
  await new Promise<void>((resolve) => {
    if (map.isStyleLoaded()) resolve();
    else map.once('load', () => resolve());
  });
  if (gone()) {
    map.remove();
    return null;
  }
  return map;
}

/**
 * Calls done once a frame shows the source's data (waiting for idle could
 * wait long while the data keeps changing); done answers false to be
 * called again on a later frame, when what it reads has not been drawn yet.
 */
export function whenDrawn(map: maplibregl.Map, source: string, done: () => boolean | void): void {
  const onRender = () => {
    if (!map.isSourceLoaded(source)) return;
    if (done() === false) return;
    map.off('render', onRender);
  };
  map.on('render', onRender);
  map.triggerRepaint();
}

/** Replaces the data of a GeoJSON source the page added. */
export function setData(map: maplibregl.Map, source: string, data: GeoJSON.FeatureCollection): void {
  (map.getSource(source) as maplibregl.GeoJSONSource | undefined)?.setData(data);
}

/** Fits the map to points ([lon, lat]), keeping a close-up of a single one (no closer than maxZoom). */
export function fitTo(map: maplibregl.Map, points: Array<[number, number]>, animate = true, maxZoom = 13): void {
  const first = points[0];
  if (!first) return;
  const bounds = new maplibregl.LngLatBounds(first, first);
  for (const p of points) bounds.extend(p);
  map.fitBounds(bounds, { padding: 48, maxZoom, animate });
}

/**
 * Adds a GeoJSON source of areas (geofences), drawn as a translucent fill
 * with its outline, below the layer named before if given.
 */
export function addAreas(
  map: maplibregl.Map,
  source: string,
  data: GeoJSON.FeatureCollection,
  look: { color: string; opacity: number; before?: string },
): void {
  map.addSource(source, { type: 'geojson', data });
  map.addLayer({ id: `${source}-fill`, type: 'fill', source, paint: { 'fill-color': look.color, 'fill-opacity': look.opacity } }, look.before);
  map.addLayer({ id: `${source}-line`, type: 'line', source, paint: { 'line-color': look.color, 'line-width': 1.5 } }, look.before);
}

/** Shows or hides the areas addAreas drew. */
export function showAreas(map: maplibregl.Map, source: string, shown: boolean): void {
  for (const layer of [`${source}-fill`, `${source}-line`]) map.setLayoutProperty(layer, 'visibility', shown ? 'visible' : 'none');
}
