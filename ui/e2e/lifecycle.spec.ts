// The operator exports a tenant whole, downloads its archive, and imports
// it as a new tenant from the file downloaded.
import { stat } from 'node:fs/promises';
import { demo, expect, expectAccessible, signIn, test } from './fixtures';
import { createTenant, unique } from './tenants';

test('the operator exports a tenant, downloads it and imports it under a new slug', async ({ page }, testInfo) => {
  await signIn(page, demo.operator);
  const { slug, name } = await createTenant(page);

  const exports = page.getByRole('region', { name: 'Export', exact: true });
  await exports.getByRole('button', { name: 'Export tenant' }).click();
  await expect(exports.getByText(/^Export done: \d+ tables, /)).toBeVisible();
  await expectAccessible(page);

  const [download] = await Promise.all([page.waitForEvent('download'), exports.getByRole('link', { name: 'Download archive' }).first().click()]);
  const today = new Date().toISOString().slice(0, 10);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^${slug}-(${today}|\\d{4}-\\d{2}-\\d{2})\\.qmx\\.gz$`));
  const file = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(file);
  expect((await stat(file)).size).toBeGreaterThan(0);

  // Named to sort first, so the list's first page shows it.
  const copy = `aa-${unique()}`;
  await page.goto('/operator/tenants');
  const importing = page.getByRole('region', { name: 'Import a tenant', exact: true });
  await importing.getByLabel('Archive').setInputFiles(file);
  await importing.getByLabel('New slug').fill(copy);
  await importing.getByLabel('Tier').selectOption('pool');
  await importing.getByRole('button', { name: 'Import tenant' }).click();
  await expect(importing.getByRole('status').first()).toContainText(`Imported ${name} (${copy}, pool)`);
  await expectAccessible(page);

  const row = page.getByRole('region', { name: 'Tenants', exact: true }).getByRole('row').filter({ hasText: copy });
  await expect(row).toHaveCount(1);
  await row.getByRole('link', { name }).click();
  await expect(page).toHaveURL(new RegExp(`/operator/tenants/${copy}$`));
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
});
