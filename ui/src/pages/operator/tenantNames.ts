// How the operator's pages name tenants: devices and custody name them by
// id, the pages show slugs; and the badge for a tenant's state.
import { api, must } from '../../api/client';
import { rows } from '../../lib/list';

/** The tenants' slugs by id (the first thousand tenants). */
export async function tenantSlugs(): Promise<Map<string, string>> {
  const r = await must(api.GET('/api/v1/operator/tenants', { params: { query: { limit: 1000 } } }));
  return new Map(rows(r.tenants).map((t) => [t.id, t.slug]));
}

const stateClasses: Record<string, string> = { active: 'ok', suspended: 'bad', deleting: 'gone' };

/**
 * The badge class for a tenant's state: active is fine, suspended is bad,
 * deleting is on its way out (gone), anything else (provisioning) a warning.
 */
export function stateClass(state: string): string {
  return stateClasses[state] ?? 'warn';
}
