import type { Page } from '@playwright/test';
import { raiseAlarm } from './alarms';
import { asAdmin, unique } from './assets-helpers';
import { demo, expect, expectAccessible, signIn, test } from './fixtures';

/** The device list's row of a device, by its ident (the list names a device by its name when it has one). */
function deviceRow(page: Page, ident: string) {
  return page.getByRole('row').filter({ hasText: new RegExp(`${ident}(?!\\d)`) });
}

/** Opens the device page of a simulated vehicle through the device list. */
async function openVehicle(page: Page, ident: string): Promise<void> {
  await page.goto(`/t/acme/devices?q=${ident}`);
  await deviceRow(page, ident).getByRole('link').click();
  await expect(page.getByText(ident).first()).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Latest' })).toBeVisible();
}

test('a simulated vehicle moves on the live map', { tag: '@journey' }, async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/fleet');
  await expect(page.getByRole('heading', { level: 1, name: 'Fleet map' })).toBeVisible();
  // The map drew (its style and the vehicles loaded) with WebGL.
  await expect(page.getByText(/Map shows [1-9]\d* vehicles?\./)).toBeVisible({ timeout: 60_000 });
  const canvas = page.getByRole('region', { name: 'Fleet map' }).locator('canvas');
  await expect(canvas).toHaveCount(1);
  expect(await canvas.evaluate((c) => (c as HTMLCanvasElement).getContext('webgl2') !== null || (c as HTMLCanvasElement).getContext('webgl') !== null)).toBe(true);
  await expect(page.getByRole('term').filter({ hasText: 'Online' })).toBeVisible();

  const vehicle = page.getByRole('listitem').filter({ hasText: /demo-acme-1(?!\d)/ });
  await expect(vehicle).toBeVisible();
  const where = async () => (await vehicle.getByText(/^Latitude/).innerText()) + ' ' + (await vehicle.getByText(/^longitude/).innerText());
  const first = await where();
  expect(first).toMatch(/\d/);
  await expect.poll(where, { timeout: 45_000, message: 'the vehicle’s position changes' }).not.toBe(first);
  await expectAccessible(page);

  // Its entry links to the vehicle's page (first, before any of its alarms).
  await vehicle.getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: 'Latest' })).toBeVisible();
  await expect(page.getByText(/demo-acme-1(?!\d)/).first()).toBeVisible();
});

test('a vehicle’s chart shows its points', { tag: '@journey' }, async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await openVehicle(page, 'demo-acme-2');
  await expect(page.getByRole('rowheader', { name: 'battery' })).toBeVisible();
  await page.getByLabel('Metric').selectOption({ label: 'battery' });
  await page.getByLabel('Last hour').check();
  const status = page.getByRole('status').filter({ hasText: /buckets? of/ });
  await expect(status).toHaveText(/^\d+ buckets? of \S+ from [\d,.\s]+ points?$/);
  await expect
    .poll(async () => Number(/(\d+) buckets?/.exec(await status.innerText())?.[1] ?? 0), { message: 'buckets charted' })
    .toBeGreaterThan(0);
  const points = /from ([\d,.\s]+) points?/.exec(await status.innerText())?.[1]?.replace(/\D/g, '');
  expect(Number(points)).toBeGreaterThan(0);
  await expect(page.getByRole('img', { name: /battery over the chosen range/ }).locator('canvas')).toHaveCount(1);
  await expectAccessible(page);

  // The editing controls are there for the admin.
  await expect(page.getByRole('button', { name: 'Edit device' })).toBeVisible();
});

test('the device list filters by health', async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/devices');
  await expect(page.getByRole('heading', { level: 1, name: 'Devices' })).toBeVisible();
  await expect(deviceRow(page, 'demo-acme-1')).toBeVisible();
  await expectAccessible(page);

  await page.getByLabel('Health').selectOption({ label: 'Online' });
  await expect(page).toHaveURL(/health=online/);
  for (const ident of ['demo-acme-1', 'demo-acme-2', 'demo-acme-3']) {
    await expect(deviceRow(page, ident)).toBeVisible();
  }

  await page.getByLabel('Health').selectOption({ label: 'Never reported' });
  await expect(page).toHaveURL(/health=never_seen/);
  await expect(page.getByRole('status')).toHaveText(/^\d+ devices?$/);
  await expect(page.getByRole('row').filter({ hasText: /demo-acme-\d/ })).toHaveCount(0);

  // Search narrows the list, and the address keeps it.
  await page.getByLabel('Health').selectOption({ label: 'Any' });
  await page.getByLabel('Search').fill('demo-acme-3');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=demo-acme-3/);
  await expect(deviceRow(page, 'demo-acme-3')).toBeVisible();
  await expect(deviceRow(page, 'demo-acme-1')).toHaveCount(0);
});

test('a viewer sees a device without editing controls', async ({ page }) => {
  await signIn(page, demo.acmeViewer);
  await openVehicle(page, 'demo-acme-1');
  await expect(page.getByRole('heading', { name: 'Chart' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Trips' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Edit device' })).toHaveCount(0);
  await expect(page.getByLabel('Name')).toHaveCount(0);
  await expectAccessible(page);
});

test('an unknown device is not found', async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/devices/no-such-device');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('the server’s message for a wrong field shows beside it', async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await openVehicle(page, 'demo-acme-3');
  await page.getByRole('button', { name: 'Edit device' }).click();
  // The asset finder asks the asset list.
  await page.getByLabel('Find an asset').fill(`nothing-like-this-${Date.now()}`);
  await page.getByRole('button', { name: 'Find', exact: true }).click();
  await expect(page.getByText('No asset matches.')).toBeVisible();
  await page.getByLabel('Asset id').fill(`no-such-asset-${Date.now()}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('no such asset')).toBeVisible();
  await expect(page.getByLabel('Asset id')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page);
  // Nothing was saved: cancelling shows the device as it was.
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('button', { name: 'Edit device' })).toBeVisible();
});

test('a vehicle with an open alarm wears its colour on the map and links to the alarm', async ({ page, playwright, baseURL }) => {
  const rule = `Ringed ${unique('fleet')}`;
  const made = await asAdmin(playwright, baseURL, (api) => raiseAlarm(api, rule, 'demo-acme-2', 'critical'));
  await signIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/fleet');
  await expect(page.getByRole('status').filter({ hasText: /Map shows [1-9]\d* vehicles?\.\s+[1-9]\d* with open alarms\./ })).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('list', { name: 'Legend' })).toContainText('Critical or major alarm');

  // Its entry lists the alarm, gravest first, and links to it.
  const alarms = page.getByRole('list', { name: `Open alarms of ${made.name}` });
  await expect(alarms.getByRole('listitem').first()).toContainText('critical');
  await expect(alarms.getByRole('link', { name: rule })).toBeVisible();

  // The geofences can be drawn beneath the vehicles.
  await page.getByLabel('Show geofences').check();
  await expect(page.getByRole('list', { name: 'Legend' })).toContainText('Geofence');
  await expectAccessible(page);

  await alarms.getByRole('link', { name: rule }).click();
  await expect(page).toHaveURL(new RegExp(`/t/acme/alarms/${made.alarm}$`));
  await expect(page.getByRole('heading', { level: 1, name: `${rule} on ${made.name}` })).toBeVisible();
});
