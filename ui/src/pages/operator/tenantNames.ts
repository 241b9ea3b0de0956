// Devices and custody name tenants by id; the operator's pages show slugs.
import { api, must } from '../../api/client';
import { rows } from '../../lib/list';

/** The tenants' slugs by id (the first thousand tenants). */
export async function tenantSlugs(): Promise<Map<string, string>> {
  const r = await must(api.GET('/api/v1/operator/tenants', { params: { query: { limit: 1000 } } }));
  return new Map(rows(r.tenants).map((t) => [t.id, t.slug]));
}
