// The console's pages, by address. Addresses mirror the API's. Pages load
// on first visit, so code for maps and charts ships only to the pages that
// draw them.
import type { Component } from 'svelte';
import type { Feature } from './lib/tenant.svelte';

/** Where a page belongs: the shell draws its navigation from it. */
export type Area = 'public' | 'account' | 'tenant' | 'operator';

export interface PageRoute {
  pattern: string;
  area: Area;
  /** The feature of the tenant's plan the page belongs to, if any: without it the shell shows why instead. */
  feature?: Feature;
  /** The page; it is given the address's named segments as params, if it takes them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pages take params or nothing
  load: () => Promise<{ default: Component<any> }>;
}

export const routes: PageRoute[] = [
  { pattern: '/login', area: 'public', load: () => import('./pages/auth/Login.svelte') },
  { pattern: '/invite/:token', area: 'public', load: () => import('./pages/auth/Invite.svelte') },
  { pattern: '/reset-password/:token', area: 'public', load: () => import('./pages/auth/ResetPassword.svelte') },
  { pattern: '/account/password', area: 'account', load: () => import('./pages/auth/ChangePassword.svelte') },
  { pattern: '/welcome', area: 'account', load: () => import('./pages/auth/Welcome.svelte') },

  { pattern: '/t/:tenant', area: 'tenant', load: () => import('./pages/dashboard/Dashboard.svelte') },

  { pattern: '/t/:tenant/assets', area: 'tenant', load: () => import('./pages/assets/AssetList.svelte') },
  { pattern: '/t/:tenant/assets/new', area: 'tenant', load: () => import('./pages/assets/AssetForm.svelte') },
  { pattern: '/t/:tenant/assets/import', area: 'tenant', feature: 'import', load: () => import('./pages/assets/AssetImport.svelte') },
  { pattern: '/t/:tenant/assets/:id', area: 'tenant', load: () => import('./pages/assets/AssetDetail.svelte') },
  { pattern: '/t/:tenant/assets/:id/edit', area: 'tenant', load: () => import('./pages/assets/AssetForm.svelte') },

  { pattern: '/t/:tenant/catalog', area: 'tenant', load: () => import('./pages/catalog/CatalogIndex.svelte') },
  { pattern: '/t/:tenant/catalog/models', area: 'tenant', load: () => import('./pages/catalog/Models.svelte') },
  { pattern: '/t/:tenant/catalog/depreciations', area: 'tenant', load: () => import('./pages/catalog/Depreciations.svelte') },
  { pattern: '/t/:tenant/catalog/locations', area: 'tenant', load: () => import('./pages/catalog/Locations.svelte') },
  { pattern: '/t/:tenant/catalog/fields', area: 'tenant', feature: 'custom_fields', load: () => import('./pages/catalog/Fields.svelte') },
  { pattern: '/t/:tenant/catalog/fieldsets', area: 'tenant', feature: 'custom_fields', load: () => import('./pages/catalog/FieldSets.svelte') },
  // Every reference list (categories, manufacturers, …) after the pages above.
  { pattern: '/t/:tenant/catalog/:kind', area: 'tenant', load: () => import('./pages/catalog/ReferenceListPage.svelte') },
  { pattern: '/t/:tenant/licenses', area: 'tenant', load: () => import('./pages/licenses/Licenses.svelte') },
  { pattern: '/t/:tenant/licenses/:id', area: 'tenant', load: () => import('./pages/licenses/License.svelte') },
  { pattern: '/t/:tenant/settings', area: 'tenant', load: () => import('./pages/settings/Settings.svelte') },
  { pattern: '/t/:tenant/usage', area: 'tenant', load: () => import('./pages/usage/Usage.svelte') },

  { pattern: '/t/:tenant/people', area: 'tenant', load: () => import('./pages/people/Members.svelte') },
  { pattern: '/t/:tenant/people/roles', area: 'tenant', load: () => import('./pages/people/Roles.svelte') },
  { pattern: '/t/:tenant/people/departments', area: 'tenant', load: () => import('./pages/people/Departments.svelte') },
  { pattern: '/t/:tenant/tokens', area: 'tenant', feature: 'api_tokens', load: () => import('./pages/people/Tokens.svelte') },
  { pattern: '/t/:tenant/audit', area: 'tenant', load: () => import('./pages/audit/Audit.svelte') },

  { pattern: '/operator/tenants', area: 'operator', load: () => import('./pages/operator/Tenants.svelte') },
  { pattern: '/operator/tenants/:tenant', area: 'operator', load: () => import('./pages/operator/Tenant.svelte') },
  { pattern: '/operator/tombstones', area: 'operator', load: () => import('./pages/operator/Tombstones.svelte') },
  { pattern: '/operator/audit', area: 'operator', load: () => import('./pages/operator/AuditLog.svelte') },
  { pattern: '/operator/usage', area: 'operator', load: () => import('./pages/operator/Usage.svelte') },
  { pattern: '/operator/plans', area: 'operator', load: () => import('./pages/operator/Plans.svelte') },
  { pattern: '/operator/devices', area: 'operator', load: () => import('./pages/operator/Devices.svelte') },
  { pattern: '/operator/devices/:device', area: 'operator', load: () => import('./pages/operator/Device.svelte') },
  { pattern: '/t/:tenant/fleet', area: 'tenant', feature: 'fleet', load: () => import('./pages/fleet/FleetMap.svelte') },
  { pattern: '/t/:tenant/devices', area: 'tenant', feature: 'fleet', load: () => import('./pages/fleet/Devices.svelte') },
  { pattern: '/t/:tenant/alarms', area: 'tenant', load: () => import('./pages/alerts/Alarms.svelte') },
  { pattern: '/t/:tenant/alarms/:id', area: 'tenant', load: () => import('./pages/alerts/Alarm.svelte') },
  { pattern: '/t/:tenant/rules', area: 'tenant', load: () => import('./pages/alerts/Rules.svelte') },
  { pattern: '/t/:tenant/geofences', area: 'tenant', feature: 'fleet', load: () => import('./pages/alerts/Geofences.svelte') },
  { pattern: '/t/:tenant/notification-channels', area: 'tenant', load: () => import('./pages/alerts/Channels.svelte') },
  { pattern: '/t/:tenant/notification-channels/:id', area: 'tenant', load: () => import('./pages/alerts/Channel.svelte') },
  { pattern: '/t/:tenant/devices/:id', area: 'tenant', feature: 'fleet', load: () => import('./pages/fleet/Device.svelte') },
];
