// Journeys through the catalog (reference lists, models, locations, custom
// fields, field sets), licenses with seats, and settings.
import type { Page } from '@playwright/test';
import { asAdmin } from './assets-helpers';
import { demo, expect, expectAccessible, signedIn, test } from './fixtures';

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Picks the option of a select whose text contains some text. */
async function choose(page: Page, label: string, text: string): Promise<void> {
  const select = page.getByLabel(label, { exact: true });
  const value = await select.locator('option', { hasText: text }).first().getAttribute('value');
  await select.selectOption(value!);
}

test('a category and a manufacturer made on the generic page describe a model, which shows the category’s new name; a depreciation schedule covers the category, which cannot be deleted while in use', async ({ page }) => {
  const u = unique();
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/catalog');
  await expect(page.getByRole('heading', { level: 1, name: 'Catalog' })).toBeVisible();

  await page.getByRole('link', { name: 'Categories' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Categories' })).toBeVisible();
  await page.getByLabel('Name').fill(`Laptops ${u}`);
  await page.getByLabel('Kind').selectOption('asset');
  await page.getByRole('button', { name: 'Add category' }).click();
  await expect(page.getByRole('cell', { name: `Laptops ${u}`, exact: true })).toBeVisible();

  await page.goto('/t/acme/catalog/manufacturers');
  await expect(page.getByRole('heading', { level: 1, name: 'Manufacturers' })).toBeVisible();
  await expect(page.getByLabel('Kind')).toHaveCount(0);
  await page.getByLabel('Name').fill(`Lenovo ${u}`);
  await page.getByRole('button', { name: 'Add manufacturer' }).click();
  await expect(page.getByRole('cell', { name: `Lenovo ${u}`, exact: true })).toBeVisible();

  await page.goto('/t/acme/catalog/models');
  await page.getByLabel('Name').fill(`ThinkPad ${u}`);
  await page.getByLabel('Model number').fill('T14');
  await choose(page, 'Category', `Laptops ${u}`);
  await choose(page, 'Manufacturer', `Lenovo ${u}`);
  await page.getByRole('button', { name: 'Add model' }).click();
  const row = page.getByRole('row', { name: new RegExp(`ThinkPad ${u}`) });
  await expect(row).toContainText(`Laptops ${u}`);
  await expect(row).toContainText(`Lenovo ${u}`);

  // Rename the category; the model shows the new name.
  await page.goto('/t/acme/catalog/categories');
  await page.getByRole('button', { name: `Edit Laptops ${u}` }).click();
  await page.getByLabel('Name').fill(`Notebooks ${u}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('cell', { name: `Notebooks ${u}`, exact: true })).toBeVisible();
  await page.goto('/t/acme/catalog/models');
  await expect(page.getByRole('row', { name: new RegExp(`ThinkPad ${u}`) })).toContainText(`Notebooks ${u}`);

  // A schedule covers it.
  await page.goto('/t/acme/catalog/depreciations');
  await page.getByLabel('Name').fill(`Three years ${u}`);
  await page.getByLabel('Months').fill('36');
  await page.getByLabel(`Notebooks ${u}`).check();
  await page.getByRole('button', { name: 'Add schedule' }).click();
  await expect(page.getByRole('row', { name: new RegExp(`Three years ${u}`) })).toContainText(`Notebooks ${u}`);

  // A category in use cannot go: the server's refusal shows.
  await page.goto('/t/acme/catalog/categories');
  await page.getByRole('button', { name: `Delete Notebooks ${u}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete category?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('cell', { name: `Notebooks ${u}`, exact: true })).toBeVisible();
});

test('a location tree: a child made under its parent shows under it, and is deleted', async ({ page }) => {
  const u = unique();
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/catalog/locations');
  await expect(page.getByRole('heading', { level: 1, name: 'Locations' })).toBeVisible();
  await page.getByLabel('Name').fill(`Site ${u}`);
  await page.getByRole('button', { name: 'Add location' }).click();
  await expect(page.getByRole('status')).toContainText(`Added Site ${u}`);

  await page.getByRole('button', { name: `Add under Site ${u}` }).click();
  await expect(page.getByRole('heading', { name: `New location under Site ${u}` })).toBeVisible();
  await page.getByLabel('Name').fill(`Room ${u}`);
  await page.getByRole('button', { name: 'Add location' }).click();
  const inside = page.getByRole('list', { name: `Inside Site ${u}` });
  await expect(inside.getByText(`Room ${u}`, { exact: true })).toBeVisible();

  // Rename the child.
  await page.getByRole('button', { name: `Edit Room ${u}` }).click();
  await page.getByLabel('Name').fill(`Lab ${u}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(inside.getByText(`Lab ${u}`, { exact: true })).toBeVisible();

  await page.getByRole('button', { name: `Delete Lab ${u}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status')).toContainText(`Deleted Lab ${u}`);
  await expect(page.getByRole('list', { name: `Inside Site ${u}` })).toHaveCount(0);
  await expect(page.getByRole('list', { name: 'Locations' }).getByText(`Site ${u}`, { exact: true })).toBeVisible();
});

test('a choice field and a field set holding it', async ({ page }) => {
  const u = unique();
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/catalog/fields');
  await expect(page.getByRole('heading', { level: 1, name: 'Custom fields' })).toBeVisible();
  await page.getByLabel('Name').fill(`OS ${u}`);
  await page.getByLabel('Type').selectOption('choice');
  await page.getByLabel('Choices').fill('Linux\nWindows\nmacOS');
  await page.getByLabel('Required').check();
  await page.getByRole('button', { name: 'Add field' }).click();
  const row = page.getByRole('row', { name: new RegExp(`OS ${u}`) });
  await expect(row).toContainText('Linux, Windows, macOS');
  await expect(row).toContainText('required');

  await page.goto('/t/acme/catalog/fieldsets');
  await expect(page.getByRole('heading', { level: 1, name: 'Field sets' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(`Workstations ${u}`);
  await choose(page, 'Field to add', `OS ${u}`);
  await page.getByRole('button', { name: 'Add field', exact: true }).click();
  await expect(page.getByRole('list', { name: 'Fields of the set' })).toContainText(`OS ${u}`);
  await page.getByRole('button', { name: 'Add field set' }).click();
  await expect(page.getByRole('row', { name: new RegExp(`Workstations ${u}`) })).toContainText(`OS ${u}`);
});

test('a license with two seats: one goes to a member, 1 of 2 used, then freed', async ({ page }) => {
  const u = unique();
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/licenses');
  await expect(page.getByRole('heading', { level: 1, name: 'Licenses' })).toBeVisible();
  await page.getByRole('button', { name: 'New license' }).click();
  await page.getByLabel('Name').fill(`Office ${u}`);
  await page.getByLabel('Seats').fill('2');
  await page.getByLabel('Expires on').fill(new Date(Date.now() + 10 * 86400e3).toISOString().slice(0, 10));
  await page.getByRole('button', { name: 'Add license' }).click();
  const row = page.getByRole('row', { name: new RegExp(`Office ${u}`) });
  await expect(row).toContainText('0 of 2');
  await expect(row).toContainText('expires soon');

  // Only those expiring before a day: the address keeps the filter.
  await page.getByLabel('Expiring before').fill(new Date(Date.now() + 20 * 86400e3).toISOString().slice(0, 10));
  await page.getByLabel('Expiring before').dispatchEvent('change');
  await expect(page).toHaveURL(/expiring_before=/);
  await expect(row).toBeVisible();
  await page.getByRole('button', { name: 'Show all' }).click();
  await expect(page).not.toHaveURL(/expiring_before=/);

  await row.getByRole('link', { name: `Office ${u}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Office ${u}` })).toBeVisible();
  await choose(page, 'Member', demo.acmeViewer);
  await page.getByRole('button', { name: 'Assign seat' }).click();
  await expect(page.getByText('1 of 2')).toBeVisible();
  await expect(page.getByRole('row', { name: /user/ })).toBeVisible();

  await page.getByRole('button', { name: /^Free the seat of/ }).click();
  await expect(page.getByText('0 of 2')).toBeVisible();
  await expect(page.getByText('No seat is in use.')).toBeVisible();
});

test('settings: tag numbering and fleet settings stay after a reload; a bad value shows the server’s message beside it', async ({ page }) => {
  const prefix = `T${unique().slice(-5).toUpperCase()}-`;
  const minutes = String(10 + Math.floor(Math.random() * 50));
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/settings');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await page.getByLabel('Prefix').fill(prefix);
  await page.getByRole('button', { name: 'Save tag numbering' }).click();
  await expect(page.getByRole('status')).toContainText('Tag numbering saved');
  await page.getByLabel('Offline after (minutes)').fill(minutes);
  await page.getByRole('button', { name: 'Save fleet settings' }).click();
  await expect(page.getByText('Fleet settings saved')).toBeVisible();

  await page.reload();
  await expect(page.getByLabel('Prefix')).toHaveValue(prefix);
  await expect(page.getByLabel('Offline after (minutes)')).toHaveValue(minutes);

  await page.getByLabel('Retention (days)').fill('-1');
  await page.getByRole('button', { name: 'Save fleet settings' }).click();
  const retention = page.getByLabel('Retention (days)');
  await expect(retention).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#fleet-retention-error')).toContainText(/retention/i);
  await expect(retention).toHaveAccessibleDescription(/retention/i);
});

test('the viewer sees the catalog, licenses and settings without editing controls', async ({ page, playwright, baseURL }) => {
  const license = await asAdmin(playwright, baseURL, (api) =>
    api.must<{ id: string }>('POST', '/licenses', { name: `Viewer's ${unique()}`, seats: 3, product_key: '', manufacturer_id: '', expires_on: '', notes: '' }),
  );
  await signedIn(page, demo.acmeViewer);
  for (const path of ['catalog/categories', 'catalog/models', 'catalog/locations', 'catalog/fields', 'catalog/fieldsets', 'catalog/depreciations']) {
    await page.goto(`/t/acme/${path}`);
    await expect(page.getByRole('heading', { level: 2 }).first()).toBeVisible();
    await expect(page.locator('form')).toHaveCount(0);
    await expect(page.getByRole('button', { name: /^(Edit|Delete|Add)/ })).toHaveCount(0);
  }
  await page.goto('/t/acme/catalog/categories');
  await expect(page.getByRole('cell').first()).toBeVisible();

  await page.goto('/t/acme/licenses');
  await expect(page.getByRole('heading', { level: 1, name: 'Licenses' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'New license' })).toHaveCount(0);
  await expect(page.getByRole('table').getByRole('link').first()).toBeVisible();
  await page.goto(`/t/acme/licenses/${license.id}`);
  await expect(page.getByRole('heading', { name: 'Seats' })).toBeVisible();
  await expect(page.getByRole('button', { name: /Edit|Delete|Assign|Free/ })).toHaveCount(0);

  // At phone width the page fits: wide tables scroll inside their frame.
  await page.setViewportSize({ width: 360, height: 740 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);

  await page.goto('/t/acme/settings');
  await expect(page.getByRole('heading', { name: 'Fleet' })).toBeVisible();
  await expect(page.getByText('Offline after')).toBeVisible();
  await expect(page.locator('input')).toHaveCount(0);
  // Settings read-only: their values as text, not fields.
  await expectAccessible(page);
});
