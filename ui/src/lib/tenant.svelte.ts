// The tenant the console is looking at, with what the member may do there.
// Pages ask can(...) to show only the controls the member's role allows;
// the server decides regardless.
import { api, must, type Schemas } from '../api/client';

type TenantHome = Schemas['tenantHome'];

export const current = $state<{ slug: string; tenant: TenantHome | null; error: unknown }>({
  slug: '',
  tenant: null,
  error: null,
});

/** Loads the tenant named in the address, once per slug. */
export async function enterTenant(slug: string): Promise<void> {
  if (current.slug === slug && (current.tenant || current.error)) return;
  current.slug = slug;
  current.tenant = null;
  current.error = null;
  try {
    const t = await must(api.GET('/api/v1/t/{tenant}', { params: { path: { tenant: slug } } }));
    if (current.slug === slug) current.tenant = t;
  } catch (e) {
    if (current.slug === slug) current.error = e;
  }
}

/** Forgets the loaded tenant, so the next visit asks again (after sign-in, say). */
export function leaveTenant(): void {
  current.slug = '';
  current.tenant = null;
  current.error = null;
}

/** Whether the member holds a permission, such as "assets:write", in the current tenant. */
export function can(permission: string): boolean {
  return current.tenant?.principal?.role.permissions?.includes(permission) ?? false;
}

/** The API path parameters of the current tenant. */
export function tenantPath(): { tenant: string } {
  return { tenant: current.slug };
}
