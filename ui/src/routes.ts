// The console's pages, by address. Addresses mirror the API's. Pages load
// on first visit, so code for maps and charts ships only to the pages that
// draw them.
import type { Component } from 'svelte';

/** Where a page belongs: the shell draws its navigation from it. */
export type Area = 'public' | 'account' | 'tenant' | 'operator';

export interface PageRoute {
  pattern: string;
  area: Area;
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

  { pattern: '/t/:tenant/fleet', area: 'tenant', load: () => import('./pages/fleet/FleetMap.svelte') },
  { pattern: '/t/:tenant/devices', area: 'tenant', load: () => import('./pages/fleet/Devices.svelte') },
  { pattern: '/t/:tenant/devices/:id', area: 'tenant', load: () => import('./pages/fleet/Device.svelte') },
];
