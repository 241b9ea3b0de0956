// The tenant's roles, for the pages that list them and the pickers that offer them.
import { api, must, type Schemas } from '../../api/client';
import { rows } from '../../lib/list';

export type Role = Schemas['Role'];

/** The tenant's roles (the first thousand: built in and its own). */
export async function tenantRoles(tenant: string): Promise<Role[]> {
  const r = await must(api.GET('/api/v1/t/{tenant}/roles', { params: { path: { tenant }, query: { limit: 1000 } } }));
  return rows(r.roles);
}

/** The choices of a role picker. */
export function roleOptions(roles: Role[]): Array<{ value: string; label: string }> {
  return roles.map((r) => ({ value: r.name, label: r.name }));
}
