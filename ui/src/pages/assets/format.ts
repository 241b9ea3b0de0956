// Dates, amounts and custom field values in the browser's locale.
import type { Schemas } from '../../api/client';

/** A calendar day (YYYY-MM-DD) in the browser's locale. */
export function day(s: string | undefined | null): string {
  if (!s) return '';
  const d = new Date(`${s}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleDateString(undefined, { timeZone: 'UTC' });
}

/** A moment in the browser's locale. */
export function moment(s: string | undefined | null): string {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

/** An amount in cents, in the currency when there is one. */
export function money(cents: number | null | undefined, currency: string | undefined): string {
  if (cents === null || cents === undefined) return '';
  const units = cents / 100;
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(units);
    } catch {
      // An unknown code: show the number and the code.
    }
  }
  const n = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(units);
  return currency ? `${n} ${currency}` : n;
}

/** A custom field's value as the asset holds it. */
export function fieldValue(f: Schemas['CustomField'] | undefined, v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (typeof v === 'number') return v.toLocaleString();
  if (f?.type === 'date' && typeof v === 'string') return day(v);
  return String(v);
}

/** Words for an entry of an asset's history. */
export function actionName(action: string): string {
  const names: Record<string, string> = {
    'asset.create': 'Created',
    'asset.update': 'Changed',
    'asset.delete': 'Deleted',
    'asset.checkout': 'Checked out',
    'asset.checkin': 'Checked in',
    'asset.maintenance': 'Maintenance',
    'asset.import': 'Imported',
  };
  return names[action] ?? action;
}
