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

/**
 * An amount typed in the currency's units ("12", "12.5", "-3.25") as the
 * cents the API stores, worked out from the digits rather than through a
 * float, so that every amount with cents is exact; null when empty. What
 * it cannot read exactly is refused with a message for the field.
 */
export function toCents(text: string): { cents: number | null } | { error: string } {
  const s = text.trim();
  if (s === '') return { cents: null };
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  const [, sign = '', whole = '', fraction = ''] = m ?? [];
  if (!m || (whole === '' && fraction === '')) return { error: 'Write an amount in digits, with a point before the cents, such as 1299.50' };
  if (fraction.length > 2) return { error: 'An amount has at most two digits after the point' };
  const cents = Number(whole || '0') * 100 + Number(fraction.padEnd(2, '0'));
  if (!Number.isSafeInteger(cents)) return { error: 'That amount is too large' };
  return { cents: sign === '-' ? -cents : cents };
}

/** Cents as the cost inputs take them: 1299.5 for 129950. */
export function centsText(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return '';
  const abs = Math.abs(cents);
  const fraction = String(abs % 100).padStart(2, '0').replace(/0+$/, '');
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}${fraction ? `.${fraction}` : ''}`;
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
