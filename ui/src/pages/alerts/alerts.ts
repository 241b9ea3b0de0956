// What the alerting pages share: the API's calls for alarms, rules,
// geofences and notification channels, read a page at a time, and the
// words the pages use for what the API answers.
import { api, must, type Schemas } from '../../api/client';
import { rows } from '../../lib/list';
import { tenantPath } from '../../lib/tenant.svelte';
import { allPages, pageSize, type Page } from '../catalog/paged.svelte';

export type Alarm = Schemas['Alarm'];
export type Rule = Schemas['Rule'];
export type RuleDefinition = Schemas['RuleDefinition'];
export type Geofence = Schemas['Geofence'];
export type Channel = Schemas['Channel'];
export type ChannelDefinition = Schemas['ChannelDefinition'];
export type Delivery = Schemas['DeliveryAttempt'];
export type AlarmEvent = Schemas['AlarmEvent'];

/** The filters of the alarm list, as its address and the API name them. */
export interface AlarmFilter {
  open?: 'true';
  severity?: string;
}

function paging(after: string | undefined, limit: number) {
  return { path: tenantPath(), query: { after, limit } };
}

/** One page of the tenant's alarms, newest first, as the filter narrows them. */
export async function alarmPage(filter: AlarmFilter, after: string | undefined, limit = pageSize): Promise<Page<Alarm>> {
  const query = { after, limit, open: filter.open ? 'true' : undefined, severity: filter.severity || undefined };
  const r = await must(api.GET('/api/v1/t/{tenant}/alarms', { params: { path: tenantPath(), query } }));
  return { items: rows(r.alarms), next: r.next, total: r.total };
}

/** Every open alarm of the tenant, newest first (for the fleet map). */
export function openAlarms(): Promise<Alarm[]> {
  return allPages((after) => alarmPage({ open: 'true' }, after, 1000));
}

/** One page of an alarm's events, newest first. */
export async function eventPage(id: string, after: string | undefined, limit = pageSize): Promise<Page<AlarmEvent>> {
  const r = await must(api.GET('/api/v1/t/{tenant}/alarms/{id}/events', { params: { path: { ...tenantPath(), id }, query: { after, limit } } }));
  return { items: rows(r.events), next: r.next, total: r.total };
}

/** The member's newest unread events (at most limit), and how many are unread in all. */
export async function unreadEvents(limit: number): Promise<{ events: AlarmEvent[]; unread: number }> {
  const r = await must(api.GET('/api/v1/t/{tenant}/notifications', { params: { path: tenantPath(), query: { limit } } }));
  return { events: rows(r.events), unread: r.unread };
}

/**
 * Marks an event read for the member, and every event before it: the
 * server keeps how far each member has read, not each event.
 */
export async function markRead(eventId: string): Promise<void> {
  await must(api.POST('/api/v1/t/{tenant}/notifications/read', { params: { path: tenantPath() }, body: { event_id: eventId } }));
}

/** One page of the tenant's rules, by name. */
export async function rulePage(after: string | undefined, limit = pageSize): Promise<Page<Rule>> {
  const r = await must(api.GET('/api/v1/t/{tenant}/rules', { params: paging(after, limit) }));
  return { items: rows(r.rules), next: r.next, total: r.total };
}

/** One page of the tenant's geofences. */
export async function geofencePage(after: string | undefined, limit = pageSize): Promise<Page<Geofence>> {
  const r = await must(api.GET('/api/v1/t/{tenant}/geofences', { params: paging(after, limit) }));
  return { items: rows(r.geofences), next: r.next, total: r.total };
}

/** Every geofence of the tenant (for the maps). */
export function allGeofences(): Promise<Geofence[]> {
  return allPages((after) => geofencePage(after, 1000));
}

/** One page of the tenant's notification channels. */
export async function channelPage(after: string | undefined, limit = pageSize): Promise<Page<Channel>> {
  const r = await must(api.GET('/api/v1/t/{tenant}/notification-channels', { params: paging(after, limit) }));
  return { items: rows(r.channels), next: r.next, total: r.total };
}

/** One page of a channel's delivery log, newest first. */
export async function deliveryPage(id: string, after: string | undefined, limit = pageSize): Promise<Page<Delivery>> {
  const r = await must(
    api.GET('/api/v1/t/{tenant}/notification-channels/{id}/deliveries', { params: { path: { ...tenantPath(), id }, query: { after, limit } } }),
  );
  return { items: rows(r.deliveries), next: r.next, total: r.total };
}

/** Every device of the tenant (for pickers, and to name an alarm's device). */
export function allDevices(): Promise<Schemas['FleetDevice'][]> {
  return allPages(async (after) => {
    const r = await must(api.GET('/api/v1/t/{tenant}/devices', { params: paging(after, 1000) }));
    return { items: rows(r.devices), next: r.next, total: r.total };
  });
}

/** The severities, most severe first. */
export const severities = ['critical', 'major', 'minor', 'warning', 'info'].map((s) => ({ value: s, label: s.charAt(0).toUpperCase() + s.slice(1) }));

/** The badge class of a severity. */
export function severityClass(s: string): string {
  return s === 'critical' || s === 'major' ? 'bad' : s === 'minor' || s === 'warning' ? 'warn' : '';
}

/** The severities' ranks, most severe first: the lower, the graver. */
export function severityRank(s: string): number {
  const i = severities.findIndex((x) => x.value === s);
  return i < 0 ? severities.length : i;
}

/** What an alarm is about, as an alarm and its events name it. */
type Subject = Pick<Alarm, 'subject_type' | 'subject_id' | 'subject_name'>;

/** The console's page of an alarm's subject: a device, a license or an asset. */
export function subjectHref(tenant: string, a: Subject): string {
  const base = `/t/${encodeURIComponent(tenant)}`;
  const id = encodeURIComponent(a.subject_id);
  if (a.subject_type === 'device') return `${base}/devices/${id}`;
  if (a.subject_type === 'license') return `${base}/licenses/${id}`;
  return `${base}/assets/${id}`;
}

/** The console's page of an alarm. */
export function alarmHref(tenant: string, id: string): string {
  return `/t/${encodeURIComponent(tenant)}/alarms/${encodeURIComponent(id)}`;
}

/** An alarm's subject by its name as the server gives it, else the one
 * given (a device's ident, say), else by its kind and id. */
export function subjectName(a: Subject, fallback?: string): string {
  return a.subject_name || fallback || `${a.subject_type} ${a.subject_id}`;
}

/** What may be done to an alarm by hand. */
export type Verb = 'acknowledge' | 'clear';
export const verbNames: Record<Verb, string> = { acknowledge: 'Acknowledge', clear: 'Clear' };
export const verbsDone: Record<Verb, string> = { acknowledge: 'Acknowledged', clear: 'Cleared' };

/** What may be done to an alarm as it stands: the server says whether it may. */
export function verbs(a: Alarm): Verb[] {
  const state = alarmState(a);
  return state === 'open' ? ['acknowledge', 'clear'] : state === 'acknowledged' ? ['clear'] : [];
}

/** Acknowledges or clears an alarm, and answers it as it now stands. */
export function handle(a: Alarm, verb: Verb): Promise<Alarm> {
  const path = { ...tenantPath(), id: a.id };
  return verb === 'acknowledge'
    ? must(api.POST('/api/v1/t/{tenant}/alarms/{id}/acknowledge', { params: { path } }))
    : must(api.POST('/api/v1/t/{tenant}/alarms/{id}/clear', { params: { path } }));
}

/** The kinds of alarm event, in words. */
export const eventKinds: Record<string, string> = { raised: 'Raised', repeated: 'Raised again', acknowledged: 'Acknowledged', cleared: 'Cleared' };

/** Where an alarm stands, in a word. */
export function alarmState(a: Alarm): 'open' | 'acknowledged' | 'cleared' {
  if (a.cleared_at) return 'cleared';
  return a.acknowledged_at ? 'acknowledged' : 'open';
}

/** A geofence's shape in words: a circle with its radius, or a polygon with its points. */
export function shapeSummary(g: Geofence): string {
  const geo = g.shape.geometry;
  if (geo.type === 'Point') return `Circle of ${(g.shape.properties?.radius_m ?? 0).toLocaleString()} m`;
  // A Polygon's rings, or a MultiPolygon's polygons of rings; each ring closes on its first point.
  const rings = (geo.type === 'Polygon' ? [geo.coordinates] : geo.coordinates) as unknown[][][];
  const points = rings.reduce((n, poly) => n + poly.reduce((m, ring) => m + Math.max(ring.length - 1, 0), 0), 0);
  const polygons = rings.length === 1 ? 'Polygon' : `${rings.length} polygons`;
  return `${polygons} with ${points.toLocaleString()} points`;
}

/** A nanosecond duration as milliseconds. */
export function millis(ns: number): string {
  return `${(ns / 1e6).toLocaleString(undefined, { maximumFractionDigits: 1 })} ms`;
}
