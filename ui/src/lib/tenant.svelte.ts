// The tenant the console is looking at, with what the member may do there
// and what its plan includes. Pages ask can(...) and has(...) to show only
// the controls the member's role and the tenant's plan allow; the server
// decides regardless.
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

/** A part of the product a tenant's plan may leave out. */
export type Feature = 'fleet' | 'custom_fields' | 'import' | 'api_tokens' | 'labels';

/** What each feature is, in words: the operator's plan forms and the notice of a feature left out name them so. */
export const featureNames: Record<Feature, string> = {
  fleet: 'the fleet (devices and the map)',
  custom_fields: 'custom fields and field sets',
  import: 'imports',
  api_tokens: 'API tokens',
  labels: 'labels',
};

/** Whether the current tenant's plan includes a feature, such as "labels". */
export function has(feature: Feature): boolean {
  return current.tenant?.limits?.features?.includes(feature) ?? false;
}

/** The API path parameters of the current tenant. */
export function tenantPath(): { tenant: string } {
  return { tenant: current.slug };
}
