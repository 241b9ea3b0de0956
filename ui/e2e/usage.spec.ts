import { demo, expect, signedIn, test } from './fixtures';

test('the admin sees what the tenant used this month, its quotas and its limits', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Usage' })).toBeVisible();

  const quotas = page.getByRole('region', { name: /This month's quotas/ });
  await expect(quotas.getByText('API requests a month', { exact: true })).toBeVisible();
  await expect(quotas.getByText('Points a month', { exact: true })).toBeVisible();
  await expect(quotas.getByText(/^(ok|warning|exceeded)$/).first()).toBeVisible();
  await expect(page.getByRole('region', { name: 'Limits the tenant works under' }).getByRole('row', { name: /^API requests a second/ })).toBeVisible();

  // The journey's own requests are metered: the node writes them within
  // seconds, and a fresh read then counts them.
  const totals = page.getByRole('region', { name: 'Totals by meter' });
  await expect(async () => {
    await page.reload();
    await expect(totals.getByRole('row', { name: /^API requests \d/ })).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expect(totals.getByRole('row', { name: /^API requests/ })).toContainText('API requests a month');
  await expect(page.getByRole('region', { name: 'Use per day' }).getByRole('row')).not.toHaveCount(0);
  await expect(page.getByRole('img', { name: /API requests and points stored per day/ })).toBeVisible();

  // Another range is kept in the address.
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel('From').fill(today);
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByRole('heading', { name: `Totals, ${today} to ${today}` })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`from=${today}`));
});

test("the operator sees each tenant's health and downloads the month's usage as CSV", async ({ page }) => {
  await signedIn(page, demo.operator);
  await page.goto('/operator/tenants');
  await expect(page.getByRole('columnheader', { name: 'Health' })).toBeVisible();
  const acme = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Acme Corp' }) });
  await expect(acme.getByText(/^(ok|degraded|failing)$/)).toBeVisible();

  await acme.getByRole('link', { name: 'Acme Corp' }).click();
  const health = page.getByRole('region', { name: 'Health and use' });
  await expect(health.getByRole('term').filter({ hasText: 'Devices online' })).toBeVisible();
  await expect(health.getByRole('row', { name: /^Members/ })).toBeVisible();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Usage' })).toBeVisible();
  const month = new Date().toISOString().slice(0, 7);
  // The demo's devices report for acme: its points are metered within seconds.
  await expect(async () => {
    await page.reload();
    await expect(page.getByText(`lines for ${month}`)).toBeVisible({ timeout: 2_000 });
    await expect(page.getByRole('cell', { name: 'acme', exact: true }).first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });

  const link = page.getByRole('link', { name: 'Download CSV' });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe(`usage-${month}.csv`);
  const res = await page.request.get((await link.getAttribute('href'))!);
  expect(res.headers()['content-type']).toMatch(/^text\/csv/);
  expect((await res.text()).split('\n')[0]).toBe('month,tenant,meter,value');
});
