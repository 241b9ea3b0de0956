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

// The slug whose tenant is being asked for now, if any, and how many times
// one has been asked for (so only the latest ask clears asking).
let asking = '';
let asks = 0;

/**
 * Loads the tenant named in the address, once per slug: a second call while
 * the first is under way (the effect calling it runs again as this writes
 * current, say) asks nothing more. Loading it twice would hand pages a second
 * tenant object, so every page keyed on can() or has() would load again,
 * over a form being filled in. It reads current, so an effect calling it
 * runs again when leaveTenant forgets the tenant.
 */
export async function enterTenant(slug: string): Promise<void> {
  if (current.slug === slug && (current.tenant || current.error || asking === slug)) return;
  asking = slug;
  const ask = ++asks;
  current.slug = slug;
  current.tenant = null;
  current.error = null;
  try {
    const t = await must(api.GET('/api/v1/t/{tenant}', { params: { path: { tenant: slug } } }));
    if (current.slug === slug) current.tenant = t;
  } catch (e) {
    if (current.slug === slug) current.error = e;
  } finally {
    if (ask === asks) asking = '';
  }
}

/** Forgets the loaded tenant, so the next visit asks again (after sign-in, say). */
export function leaveTenant(): void {
  asking = '';
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
