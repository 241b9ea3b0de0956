// Every page of the console, at phone width, with the network to anything
// but the server blocked (playwright.config.ts; the guard in fixtures.ts
// reports any other request): each page shows its heading, fits the screen
// without sideways scrolling, and has no serious or critical accessibility
// violation.
import type { Page } from '@playwright/test';
import { raiseAlarm } from './alarms';
import { API, unique } from './assets-helpers';
import { demo, expect, expectAccessible, pageChecks, signedIn, test } from './fixtures';

test.use({ viewport: { width: 360, height: 740 } });
test.skip(() => !pageChecks(), 'the pages are the same on every engine');

async function firstId(page: Page, path: string, key: string): Promise<string> {
  const res = await page.request.get(`/api/v1/${path}?limit=1`);
  expect(res.ok(), `GET ${path}`).toBeTruthy();
  const body = await res.json();
  const id = body[key]?.[0]?.id;
  expect(id, `an item of ${path}`).toBeTruthy();
  return id as string;
}

async function check(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await expect(page.getByRole('heading', { level: 1 }).first(), path).toBeVisible();
  await expect(page.locator('[aria-busy="true"]'), `${path} finishes loading`).toHaveCount(0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${path} scrolls sideways at 360 px`).toBeLessThanOrEqual(0);
  await expectAccessible(page);
}

test('every page of the signed-out console', async ({ page }) => {
  for (const path of ['/login', '/invite/qmi_no-such-invitation', '/reset-password/no-such-link']) {
    await check(page, path);
  }
});

// A tenant admin's pages, in three parts that run side by side; an
// address that names an item is made when its part comes to it, so each
// part finds or makes only what its own pages show.
const t = '/t/acme';
/** The address of the first item of one of acme's lists, and what follows it. */
const first = (list: string, rest = '') => async (page: Page) => `${t}/${list}/${await firstId(page, `t/acme/${list}`, list)}${rest}`;
const tenantPages: Array<string | ((page: Page) => Promise<string>)> = [
  t,
  `${t}/assets`,
  `${t}/assets/new`,
  `${t}/assets/import`,
  first('assets'),
  first('assets', '/edit'),
  `${t}/licenses`,
  first('licenses'),
  `${t}/catalog`,
  ...['categories', 'manufacturers', 'suppliers', 'status-labels', 'models', 'depreciations', 'locations', 'fields', 'fieldsets'].map((k) => `${t}/catalog/${k}`),
  `${t}/fleet`,
  `${t}/devices`,
  first('devices'),
  `${t}/alarms`,
  `${t}/alarms?open=true&severity=critical`,
  async (page) => `${t}/alarms/${(await raiseAlarm(await API.of(page), unique('Pages'), 'demo-acme-3', 'info')).alarm}`,
  `${t}/rules`,
  `${t}/geofences`,
  `${t}/notification-channels`,
  async (page) => {
    const made = await (await API.of(page)).must<{ channel: { id: string } }>('POST', '/notification-channels', {
      name: unique('Pages'),
      kind: 'email',
      enabled: true,
      emails: ['pages@example.com'],
    });
    return `${t}/notification-channels/${made.channel.id}`;
  },
  `${t}/people`,
  `${t}/people/roles`,
  `${t}/people/departments`,
  `${t}/tokens`,
  `${t}/audit`,
  `${t}/settings`,
  `${t}/usage`,
  '/account/password',
  `${t}/no-such-page`,
  '/t/no-such-tenant',
];
for (const [part, from, to] of [[1, 0, 13], [2, 13, 24], [3, 24, Infinity]] as const) {
  test(`every page a tenant admin has (part ${part} of 3)`, async ({ page }) => {
    await signedIn(page, demo.acmeAdmin);
    for (const path of tenantPages.slice(from, to)) await check(page, typeof path === 'string' ? path : await path(page));
  });
}

test('every page of the operator console', async ({ page }) => {
  await signedIn(page, demo.operator);
  const device = await firstId(page, 'operator/devices', 'devices');
  for (const path of ['/operator/tenants', '/operator/tenants/acme', '/operator/usage', '/operator/plans', '/operator/devices', `/operator/devices/${device}`, '/operator/tombstones', '/operator/audit']) {
    await check(page, path);
  }
});
