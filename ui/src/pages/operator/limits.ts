// The limits a plan sets, as the operator's forms show and edit them: each
// limit by its key in the API, what it bounds, and a form's draft of a set
// of limits (a plan's, or a tenant's overrides) with the change it makes.
import type { Schemas } from '../../api/client';
import type { Feature } from '../../lib/tenant.svelte';
import { featureNames } from '../../lib/tenant.svelte';

/** A set of limits as a plan or a tenant's overrides hold it: only what it sets. */
export type LimitSet = Schemas['Plan']['limits'];
/** A limit's key, such as max_assets. */
export type LimitKey = Exclude<keyof LimitSet, 'features'>;

// Every limit, in the order the server lists them, with what it bounds.
// Typed against the API's schema, so a limit it adds or drops fails the
// console's check until it is named here.
const bounds: Record<LimitKey, string> = {
  max_assets: 'Assets',
  max_devices: 'Devices',
  max_members: 'Members and pending invitations',
  max_custom_fields: 'Custom fields',
  max_api_tokens: 'API tokens',
  max_locations: 'Locations',
  max_rules: 'Rules',
  max_geofences: 'Geofences',
  notifications_per_hour: 'Notifications an hour',
  api_requests_per_second: 'API requests a second',
  api_burst: 'API requests at once',
  points_per_second: 'Points a second',
  points_burst: 'Points at once',
  device_points_per_second: 'Points a second from one device',
  mqtt_messages_per_second: 'MQTT messages a second from one device',
  points_per_month: 'Points a month',
  api_requests_per_month: 'API requests a month',
  max_stored_points: 'Stored points',
  max_retention_days: 'Days of retention',
};

/** The limits, in order. */
export const limitKeys = Object.keys(bounds) as LimitKey[];

/** What a limit bounds, in words: Points a month. */
export function limitName(key: LimitKey): string {
  return bounds[key] ?? key;
}

/** A limit's label: what it bounds, and its key. */
export function limitLabel(key: LimitKey): string {
  return `${limitName(key)} (${key})`;
}

/** The features a plan may turn off, for checkboxes. */
export const featureItems = (Object.keys(featureNames) as Feature[]).map((f) => ({ id: f, name: `${featureNames[f]} (${f})` }));

/** A limit's value in words: 0 is unlimited, a limit not set is shown as unset. */
export function limitText(v: number | undefined, unset = '—'): string {
  if (v === undefined) return unset;
  return v === 0 ? 'unlimited' : v.toLocaleString();
}

/** Features in words: a list, or unset when the set leaves them to what is below. */
export function featuresText(fs: string[] | undefined, unset: string): string {
  if (fs === undefined) return unset;
  return fs.length === 0 ? 'none' : fs.join(', ');
}

/** A form's state for a set of limits: each limit as typed ('' leaves it unset), and the features. */
export interface LimitsDraft {
  values: Record<LimitKey, string>;
  /** Whether the features are left unset: every feature for a plan, the plan's for a tenant. */
  inheritFeatures: boolean;
  features: string[];
}

/** The draft that shows a set of limits. */
export function draftOf(s: LimitSet | undefined): LimitsDraft {
  const values = {} as Record<LimitKey, string>;
  for (const k of limitKeys) values[k] = s?.[k] === undefined ? '' : String(s[k]);
  return { values, inheritFeatures: s?.features === undefined, features: [...(s?.features ?? [])] };
}

/**
 * What a draft sets and unsets: each limit typed (as the server reads it,
 * which says what is wrong with it) and each left empty, and the features.
 */
export function changeOf(d: LimitsDraft): { set: LimitSet; unset: string[] } {
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  for (const k of limitKeys) {
    // A number input binds a number, or null when emptied.
    const v = String(d.values[k] ?? '').trim();
    if (v === '') unset.push(k);
    else set[k] = Number(v);
  }
  if (d.inheritFeatures) unset.push('features');
  else set.features = d.features;
  return { set: set as LimitSet, unset };
}
