// A rule's form: which of a RuleDefinition's fields each kind of rule
// has (the form shows those alone and sends those alone), and the form's
// strings to and from the definition. Whether the values are right is the
// server's to say: its 422 names the fields.
import type { Rule, RuleDefinition } from './alerts';

/** A field of a rule that only some kinds have. */
type KindField = 'device_ids' | 'condition' | 'for_s' | 'speed_kmh' | 'geofence_id' | 'trigger' | 'battery_pct' | 'offline_minutes' | 'within_days';

interface Kind {
  value: string;
  label: string;
  fields: KindField[];
  /** The triggers a rule of the kind picks from, if it has one. */
  triggers?: { value: string; label: string }[];
}

/** The kinds of rule, in the API's order, each with its fields. */
export const ruleKinds: Kind[] = [
  { value: 'metric', label: 'Metric compared with a value', fields: ['device_ids', 'condition', 'for_s'] },
  { value: 'speed', label: 'Speed over a limit', fields: ['device_ids', 'speed_kmh', 'for_s'] },
  {
    value: 'geofence',
    label: 'Inside or outside a geofence',
    fields: ['device_ids', 'geofence_id', 'trigger'],
    triggers: [
      { value: 'enter', label: 'Inside it (enter)' },
      { value: 'exit', label: 'Outside it (exit)' },
    ],
  },
  {
    value: 'ignition',
    label: 'Ignition on or off',
    fields: ['device_ids', 'trigger'],
    triggers: [
      { value: 'on', label: 'On' },
      { value: 'off', label: 'Off' },
    ],
  },
  { value: 'battery', label: 'Battery below a level', fields: ['device_ids', 'battery_pct'] },
  { value: 'offline', label: 'Device not heard from', fields: ['device_ids', 'offline_minutes'] },
  { value: 'warranty', label: 'Warranty ending', fields: ['within_days'] },
  { value: 'license_expiry', label: 'License expiring', fields: ['within_days'] },
  { value: 'license_seats', label: 'License with no free seat', fields: [] },
  { value: 'overdue', label: 'Checked-out asset overdue', fields: [] },
  { value: 'maintenance_due', label: 'Maintenance due', fields: ['within_days'] },
];

/** The kind of rule named, with its fields (none for a kind the console does not know). */
export function kindOf(kind: string): Kind {
  return ruleKinds.find((k) => k.value === kind) ?? { value: kind, label: kind, fields: [] };
}

/** The comparison operators the API takes. */
export const operators = ['>', '>=', '<', '<=', '==', '!='].map((o) => ({ value: o, label: o }));

/** A rule as its form holds it: numbers as typed. */
export function ruleForm(r?: Rule) {
  const text = (n: number | undefined) => (n === undefined ? '' : String(n));
  return {
    name: r?.name ?? '',
    kind: r?.kind ?? 'metric',
    severity: r?.severity ?? 'warning',
    enabled: r?.enabled ?? true,
    department_id: r?.department_id ?? '',
    device_ids: r?.device_ids ?? [],
    metric: r?.condition?.metric ?? '',
    op: r?.condition?.op ?? '>',
    value: r?.condition ? String(r.condition.value) : '',
    clear_metric: r?.clear?.metric ?? '',
    clear_op: r?.clear?.op ?? '<',
    clear_value: r?.clear ? String(r.clear.value) : '',
    for_s: text(r?.for_s ?? 0),
    speed_kmh: text(r?.speed_kmh),
    geofence_id: r?.geofence_id ?? '',
    trigger: r?.trigger ?? '',
    battery_pct: text(r?.battery_pct),
    offline_minutes: text(r?.offline_minutes),
    within_days: text(r?.within_days ?? 0),
    quiet_from: r?.quiet_hours?.from ?? '',
    quiet_to: r?.quiet_hours?.to ?? '',
    channel_ids: r?.channel_ids ?? [],
  };
}

export type RuleForm = ReturnType<typeof ruleForm>;

/** A comparison's value as typed: true and false are booleans, numbers numbers, else text. */
function comparedValue(typed: string): number | boolean | string {
  const t = typed.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** The definition the form describes, with the fields of its kind alone. */
export function ruleDefinition(f: RuleForm): RuleDefinition {
  const has = new Set(kindOf(f.kind).fields);
  // A number input's bound value is a number once typed in, whatever the form's type says.
  const num = (s: string | number) => (String(s).trim() === '' ? undefined : Number(s));
  const d: RuleDefinition = {
    name: f.name,
    kind: f.kind,
    severity: f.severity,
    enabled: f.enabled,
    department_id: f.department_id || undefined,
    channel_ids: f.channel_ids,
  };
  if (f.quiet_from || f.quiet_to) d.quiet_hours = { from: f.quiet_from, to: f.quiet_to };
  if (has.has('device_ids')) d.device_ids = f.device_ids;
  if (has.has('condition')) {
    d.condition = { metric: f.metric.trim(), op: f.op, value: comparedValue(f.value) };
    if (f.clear_metric.trim()) d.clear = { metric: f.clear_metric.trim(), op: f.clear_op, value: comparedValue(f.clear_value) };
  }
  if (has.has('for_s')) d.for_s = num(f.for_s);
  if (has.has('speed_kmh')) d.speed_kmh = num(f.speed_kmh);
  if (has.has('geofence_id')) d.geofence_id = f.geofence_id;
  if (has.has('trigger')) d.trigger = f.trigger;
  if (has.has('battery_pct')) d.battery_pct = num(f.battery_pct);
  if (has.has('offline_minutes')) d.offline_minutes = num(f.offline_minutes);
  if (has.has('within_days')) d.within_days = num(f.within_days);
  return d;
}

/** The server's field names the form shows messages beside, for a kind. */
export function placedFields(kind: string): string[] {
  const shown: string[] = ['name', 'kind', 'severity', 'department_id', 'channel_ids', 'quiet_hours.from', 'quiet_hours.to'];
  for (const f of kindOf(kind).fields) {
    if (f === 'condition') shown.push('condition', 'condition.metric', 'condition.op', 'condition.value', 'clear.metric', 'clear.op', 'clear.value');
    else shown.push(f);
  }
  return shown;
}

/** What a rule watches for, in a few words: "speed over 90 km/h". */
export function ruleSummary(r: Rule): string {
  const c = r.condition;
  switch (r.kind) {
    case 'metric':
      return c ? `${c.metric} ${c.op} ${String(c.value)}${r.for_s ? ` for ${r.for_s} s` : ''}` : 'metric';
    case 'speed':
      return `speed over ${r.speed_kmh ?? 0} km/h${r.for_s ? ` for ${r.for_s} s` : ''}`;
    case 'geofence':
      return r.trigger === 'exit' ? 'outside a geofence' : 'inside a geofence';
    case 'ignition':
      return `ignition ${r.trigger ?? ''}`;
    case 'battery':
      return `battery below ${r.battery_pct ?? 0} %`;
    case 'offline':
      return `silent for ${r.offline_minutes ?? 0} min`;
    default:
      return `${kindOf(r.kind).label.toLowerCase()}${r.within_days ? ` within ${r.within_days} days` : ''}`;
  }
}
