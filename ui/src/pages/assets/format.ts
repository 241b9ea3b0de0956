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

/**
 * How many digits a currency's amounts have after the point, its minor
 * unit's exponent (EUR 2, JPY 0, BHD 3), as the browser knows it; 2 without
 * a currency or for a code it does not know. The API's cost_cents are
 * amounts in these minor units, and its CSV import reads them alike.
 */
export function minorDigits(currency: string | undefined): number {
  if (!currency) return 2;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2; // not a well-formed code
  }
}

/** An amount in the currency's minor units, in the currency when there is one. */
export function money(cents: number | null | undefined, currency: string | undefined): string {
  if (cents === null || cents === undefined) return '';
  const digits = minorDigits(currency);
  const units = cents / 10 ** digits;
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(units);
    } catch {
      // An unknown code: show the number and the code.
    }
  }
  const n = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(units);
  return currency ? `${n} ${currency}` : n;
}

/** An amount as a person types it in the currency: 1299.50, or 1299 in yen. */
function example(digits: number): string {
  return digits === 0 ? '1299' : `1299.${'5'.padEnd(digits, '0')}`;
}

/** What the cost fields say of the amount they take, in the currency. */
export function costHint(currency: string | undefined): string {
  return `In the currency's units, such as ${example(minorDigits(currency))}`;
}

/**
 * An amount typed in the currency's units ("12", "12.5", "-3.25") as the
 * minor units the API stores (cents; yen for JPY, fils for BHD), worked out
 * from the digits rather than through a float, so that every amount is
 * exact; null when empty. What it cannot read exactly, or with more digits
 * after the point than the currency has, is refused with a message for the
 * field.
 */
export function toCents(text: string, currency: string | undefined): { cents: number | null } | { error: string } {
  const s = text.trim();
  if (s === '') return { cents: null };
  const digits = minorDigits(currency);
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s);
  const [, sign = '', whole = '', fraction = ''] = m ?? [];
  if (!m || (whole === '' && fraction === '')) {
    return { error: `Write an amount in digits${digits ? ', with a point before the fraction' : ''}, such as ${example(digits)}` };
  }
  if (fraction.length > digits) {
    if (digits === 0) return { error: `${currency} has no minor unit: write a whole amount, such as ${example(0)}` };
    return { error: `An amount${currency ? ` in ${currency}` : ''} has at most ${digits} digits after the point` };
  }
  const cents = Number(whole || '0') * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  if (!Number.isSafeInteger(cents)) return { error: 'That amount is too large' };
  return { cents: sign === '-' ? -cents : cents };
}

/** Minor units as the cost inputs take them in the currency: 1299.5 for 129950 cents, 1234 for 1234 yen. */
export function centsText(cents: number | null | undefined, currency: string | undefined): string {
  if (cents === null || cents === undefined) return '';
  const digits = minorDigits(currency);
  const abs = Math.abs(cents);
  const scale = 10 ** digits;
  const fraction = digits ? String(abs % scale).padStart(digits, '0').replace(/0+$/, '') : '';
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / scale)}${fraction ? `.${fraction}` : ''}`;
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
