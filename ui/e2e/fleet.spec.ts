import type { Page, PlaywrightWorkerArgs } from '@playwright/test';
import { raiseAlarm } from './alarms';
import { asAdmin, unique } from './assets-helpers';
import { demo, demoPassword, expect, expectAccessible, signedIn, test } from './fixtures';

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
  await signedIn(page, demo.acmeAdmin);
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

  // Its entry links to the vehicle's page (first, before any of its alarms).
  await vehicle.getByRole('link').first().click();
  await expect(page.getByRole('heading', { name: 'Latest' })).toBeVisible();
  await expect(page.getByText(/demo-acme-1(?!\d)/).first()).toBeVisible();
});

test('a vehicle’s chart shows its points', { tag: '@journey' }, async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
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

  // The editing controls are there for the admin.
  await expect(page.getByRole('button', { name: 'Edit device' })).toBeVisible();
});

test('the device list filters by health', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/devices');
  await expect(page.getByRole('heading', { level: 1, name: 'Devices' })).toBeVisible();
  await expect(deviceRow(page, 'demo-acme-1')).toBeVisible();

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
  await signedIn(page, demo.acmeViewer);
  await openVehicle(page, 'demo-acme-1');
  await expect(page.getByRole('heading', { name: 'Chart' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Trips' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Edit device' })).toHaveCount(0);
  await expect(page.getByLabel('Name')).toHaveCount(0);
});

test('an unknown device is not found', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/devices/no-such-device');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('the server’s message for a wrong field shows beside it', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
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
  await signedIn(page, demo.acmeAdmin);
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

/** A point as a device reports it to the ingest API. */
type Report = { time: string; lat: number; lon: number; speed_kmh: number; metrics: Record<string, boolean> };

/**
 * Registers a vehicle in the operator's inventory, assigns it to acme and
 * sends its reports through the ingest API with its credential, as the
 * device itself would; answers its id and ident.
 */
async function reportingVehicle(playwright: PlaywrightWorkerArgs['playwright'], baseURL: string | undefined, reports: Report[]): Promise<{ id: string; ident: string }> {
  const request = await playwright.request.newContext({ baseURL });
  try {
    const login = await request.post('/api/v1/auth/login', { data: { email: demo.operator, password: demoPassword } });
    expect(login.status()).toBe(200);
    const headers = { 'X-CSRF-Token': ((await login.json()) as { csrf_token: string }).csrf_token };
    const ident = unique('trip');
    const made = await request.post('/api/v1/operator/devices', { headers, data: { ident, kind: 'vehicle' } });
    expect(made.status(), await made.text()).toBe(201);
    const { id, token: registered } = (await made.json()) as { id: string; token: string };
    const assigned = await request.post(`/api/v1/operator/devices/${id}/assign`, { headers, data: { tenant: 'acme' } });
    expect(assigned.status(), await assigned.text()).toBe(200);
    // A first assignment keeps the credential; a move to another tenant would answer a new one.
    const token = ((await assigned.json()) as { token?: string }).token || registered;
    const sent = await request.post('/ingest/v1/points', { headers: { Authorization: `Bearer ${token}` }, data: reports });
    expect(sent.status(), await sent.text()).toBe(200);
    expect(((await sent.json()) as { stored: number }).stored).toBe(reports.length);
    return { id, ident };
  } finally {
    await request.dispose();
  }
}

test('a vehicle’s trip is listed with its distance and duration and drawn on its map', async ({ page, playwright, baseURL }) => {
  // Ten reports a minute apart, driving north along a meridian from the
  // ignition turning on to it turning off: 9 steps of 0.01° of latitude
  // (1.112 km each on the server's sphere), nine minutes.
  const start = Date.now() - 30 * 60_000;
  const reports: Report[] = Array.from({ length: 10 }, (_, i) => ({
    time: new Date(start + i * 60_000).toISOString(),
    lat: 52.5 + i * 0.01,
    lon: 13.4,
    speed_kmh: i === 0 || i === 9 ? 0 : 67,
    metrics: { ignition: i < 9 },
  }));
  const { id, ident } = await reportingVehicle(playwright, baseURL, reports);

  await signedIn(page, demo.acmeAdmin);
  await page.goto(`/t/acme/devices/${id}`);
  await expect(page.getByRole('heading', { level: 1, name: ident })).toBeVisible();
  const trips = page.getByRole('table', { name: 'Trips in the chosen range' });
  const trip = trips.getByRole('row').filter({ has: page.getByRole('button', { name: 'Show on map' }) });
  await expect(trip).toHaveCount(1);
  const started = await page.evaluate((t) => new Date(t).toLocaleString(), reports[0]!.time);
  await expect(trip.getByRole('cell')).toHaveText([started, '9 min', '10.01 km', '67 km/h', 'Show on map']);

  await trip.getByRole('button', { name: 'Show on map' }).click();
  await expect(trip.getByRole('button', { name: 'Show on map' })).toHaveAttribute('aria-pressed', 'true');
  const drawn = page.getByRole('status').filter({ hasText: /^Trip drawn from/ });
  await expect(drawn).toBeVisible({ timeout: 60_000 });
  // The map's own rendered start and end are the first and last reports.
  const ends = /from ([\d.]+), ([\d.]+) \(green\) to ([\d.]+), ([\d.]+) \(red\)/.exec(await drawn.innerText());
  expect(ends, await drawn.innerText()).not.toBeNull();
  const [startLat, startLon, endLat, endLon] = ends!.slice(1).map(Number);
  expect(startLat).toBeCloseTo(reports[0]!.lat, 3);
  expect(startLon).toBeCloseTo(reports[0]!.lon, 3);
  expect(endLat).toBeCloseTo(reports[9]!.lat, 3);
  expect(endLon).toBeCloseTo(reports[9]!.lon, 3);
  await expect(page.getByLabel(`Map of the trip that started ${started}`)).toHaveCount(1);
  await expectAccessible(page);
});
