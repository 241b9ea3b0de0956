// How the fleet pages write what the API answers: metric values with the
// unit their name carries, health in words, times and numbers in the
// browser's locale.

/** The unit a metric's name ends in (battery_v → V), or ''. */
export function unitOf(metric: string): string {
  const units: Array<[string, string]> = [
    ['_kmh', 'km/h'],
    ['_pct', '%'],
    ['_km', 'km'],
    ['_m', 'm'],
    ['_v', 'V'],
    ['_c', '°C'],
    ['_s', 's'],
  ];
  for (const [suffix, unit] of units) {
    if (metric.endsWith(suffix)) return unit;
  }
  return metric === 'rpm' ? 'rpm' : '';
}

/** A metric's name in words: battery_v → battery. */
export function metricLabel(metric: string): string {
  const unit = unitOf(metric);
  let name = metric;
  if (unit && unit !== 'rpm') name = metric.slice(0, metric.lastIndexOf('_'));
  return name.replaceAll('_', ' ');
}

const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** A number in the browser's locale. */
export function number(n: number): string {
  return numbers.format(n);
}

/** A metric's value with its unit. */
export function metricValue(metric: string, v: number | boolean | string): string {
  if (typeof v === 'number') {
    const unit = unitOf(metric);
    return unit ? `${number(v)} ${unit}` : number(v);
  }
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return v;
}

/** A time in the browser's locale, or '—'. */
export function when(t: string | null | undefined): string {
  return t ? new Date(t).toLocaleString() : '—';
}

/** A latitude or longitude as the page shows it. */
export function degrees(n: number): string {
  return n.toLocaleString(undefined, { minimumFractionDigits: 5, maximumFractionDigits: 5 });
}

/** Health statuses the API answers, in words. */
export const healthLabels: Record<string, string> = {
  online: 'Online',
  offline: 'Offline',
  never_seen: 'Never reported',
  transferred: 'Transferred',
};

/** The badge class for a health status. */
export function healthClass(status: string): string {
  return status === 'online' ? 'ok' : status === 'offline' ? 'warn' : '';
}

/** A duration in seconds, as 1 h 5 min. */
export function duration(s: number): string {
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
