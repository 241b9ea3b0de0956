// How the usage pages write what the API meters: each meter in words
// (points stored by protocol, refused by protocol and reason), the limits
// that bound it, and the badges of quotas and of a tenant's health.
import { limitName, limitText, type LimitKey } from '../operator/limits';

const families: Record<string, string> = {
  api_requests: 'API requests',
  mqtt_messages: 'MQTT messages',
  points_stored: 'Points stored',
  points_refused: 'Points refused',
  // Gauges: a level each day, not a count (the API's qm.Gauges).
  assets: 'Assets held',
  members: 'Members',
  stored_points: 'Points kept',
  devices_reported: 'Devices that reported',
};

const protocols: Record<string, string> = { http: 'HTTP', mqtt: 'MQTT', osmand: 'OsmAnd' };

// Why points were refused, as the ingester names it (metrics.ReasonFor).
const reasons: Record<string, string> = {
  malformed: 'malformed',
  invalid: 'invalid',
  too_large: 'too large',
  unauthorized: 'wrong credential',
  unknown_device: 'unknown device',
  forbidden_topic: 'another device’s topic',
  store_failed: 'not stored (database)',
  rate_limited: 'past a rate limit',
  plan: 'past a cap or feature of the plan',
};

/** A meter's family: points_stored/mqtt → points_stored. */
export function familyOf(meter: string): string {
  return meter.split('/')[0] ?? meter;
}

/** A meter in words: points_refused/http/rate_limited → Points refused over HTTP: past a rate limit. */
export function meterName(meter: string): string {
  const [family = meter, protocol, reason] = meter.split('/');
  let name = families[family] ?? family.replaceAll('_', ' ');
  if (protocol) name += ` over ${protocols[protocol] ?? protocol}`;
  if (reason) name += `: ${reasons[reason] ?? reason.replaceAll('_', ' ')}`;
  return name;
}

// The limits that bound each family of meters.
const bounding: Record<string, LimitKey[]> = {
  api_requests: ['api_requests_per_month', 'api_requests_per_second', 'api_burst'],
  points_stored: ['points_per_month', 'points_per_second', 'points_burst', 'device_points_per_second', 'max_stored_points'],
  mqtt_messages: ['mqtt_messages_per_second'],
  assets: ['max_assets'],
  members: ['max_members'],
  stored_points: ['max_stored_points'],
};

/** The limits that bound a meter's family, in order (none for refusals). */
export function limitsOf(meter: string): LimitKey[] {
  return bounding[familyOf(meter)] ?? [];
}

/** A limit in words with its value: Points a month: 1,000,000, or unlimited at 0. */
export function limitFigure(key: LimitKey, value: number): string {
  return `${limitName(key)}: ${limitText(value)}`;
}

/** The badge class of a quota's state: ok, warning or exceeded. */
export function quotaClass(state: string): string {
  return state === 'ok' ? 'ok' : state === 'warning' ? 'warn' : 'bad';
}

/** The badge class of a tenant's health: ok, degraded or failing. */
export function healthClass(state: string): string {
  return state === 'ok' ? 'ok' : state === 'degraded' ? 'warn' : 'bad';
}
