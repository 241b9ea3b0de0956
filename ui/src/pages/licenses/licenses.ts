// What the license pages share.
import { api, must, type Schemas } from '../../api/client';
import { tenantPath } from '../../lib/tenant.svelte';
import { pageSize, present, type Page } from '../catalog/paged.svelte';

export type License = Schemas['licenseView'];
export type Seat = Schemas['Seat'];

/** One page of licenses, those expiring before a day (YYYY-MM-DD) if given. */
export async function licensePage(after: string | undefined, expiringBefore = ''): Promise<Page<License>> {
  const query = { limit: pageSize, after, expiring_before: expiringBefore || undefined };
  const r = await must(api.GET('/api/v1/t/{tenant}/licenses', { params: { path: tenantPath(), query } }));
  return { items: r.licenses ?? [], next: r.next, total: r.total };
}

/** One page of a license's seats. */
export async function seatPage(license: string, after: string | undefined): Promise<Page<Seat>> {
  const r = await must(
    api.GET('/api/v1/t/{tenant}/licenses/{id}/seats', { params: { path: { ...tenantPath(), id: license }, query: { limit: pageSize, after } } }),
  );
  return { items: present(r.seats), next: r.next, total: r.total };
}

/** A day (YYYY-MM-DD) as the browser's locale writes it. */
export function day(d: string | undefined): string {
  if (!d) return '';
  const t = new Date(`${d}T00:00:00`);
  return Number.isNaN(t.getTime()) ? d : t.toLocaleDateString();
}

/** Whether a license expires within the next 30 days (or has expired). */
export function expiringSoon(d: string | undefined, now = new Date()): boolean {
  if (!d) return false;
  const t = new Date(`${d}T00:00:00`).getTime();
  return !Number.isNaN(t) && t - now.getTime() <= 30 * 24 * 3600 * 1000;
}

/** Whether a license's expiry day has passed. */
export function expired(d: string | undefined, now = new Date()): boolean {
  if (!d) return false;
  const t = new Date(`${d}T23:59:59`).getTime();
  return !Number.isNaN(t) && t < now.getTime();
}

/** The form of a license, as its inputs hold it. */
export interface LicenseForm {
  name: string;
  product_key: string;
  manufacturer_id: string;
  seats: string;
  expires_on: string;
  notes: string;
}

export function licenseForm(l?: License): LicenseForm {
  return {
    name: l?.name ?? '',
    product_key: l?.product_key ?? '',
    manufacturer_id: l?.manufacturer_id ?? '',
    seats: String(l?.seats ?? 1),
    expires_on: l?.expires_on ?? '',
    notes: l?.notes ?? '',
  };
}

export function licenseBody(f: LicenseForm) {
  return { ...f, seats: Number(f.seats) };
}
