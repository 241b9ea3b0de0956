// The operator deletes a tenant: the slug typed again, a grace in which it
// is restored whole, then purged at once; its tombstone says it was
// verified, the operator's audit log has each step by the operator, and
// the tenant is gone.
import type { Page } from '@playwright/test';
import { demo, expect, expectAccessible, signedIn, test } from './fixtures';
import { createTenant } from './tenants';

/** Types a confirmation on the tenant's page and sends the form of the button named. */
async function confirmWith(page: Page, typed: string, button: string): Promise<void> {
  await page.getByLabel('Type the slug to confirm').fill(typed);
  await page.getByRole('button', { name: button }).click();
}

test('the operator deletes a tenant, restores it, deletes it again and purges it', async ({ page }) => {
  await signedIn(page, demo.operator);
  const { slug, name } = await createTenant(page);

  // A slip of the slug is refused beside the field.
  await confirmWith(page, `${slug}-not`, 'Delete tenant');
  await expect(page.getByText("must be the tenant's slug")).toBeVisible();
  await expect(page.getByLabel('Type the slug to confirm')).toHaveAttribute('aria-invalid', 'true');

  await page.getByLabel('Restorable for').selectOption({ label: '1 day' });
  await confirmWith(page, slug, 'Delete tenant');
  await expect(page.getByText(/^Being deleted: purged at .+ unless restored; deleted by .+\.$/)).toBeVisible();
  await expect(page.getByText('deleting', { exact: true })).toBeVisible();

  await page.getByRole('button', { name: 'Restore tenant' }).click();
  await expect(page.getByRole('status')).toHaveText('The tenant is restored.');
  await expect(page.getByText('active', { exact: true })).toBeVisible();
  await expect(page.getByText(/Being deleted/)).toHaveCount(0);

  await confirmWith(page, slug, 'Delete tenant');
  await expect(page.getByText(/^Being deleted/)).toBeVisible();
  await confirmWith(page, slug, 'Purge now');

  await expect(page).toHaveURL(/\/operator\/tombstones$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Tombstones' })).toBeVisible();
  await expect(page.getByRole('status')).toContainText(`${name} (${slug}) is purged. Verified (nothing of it found after): yes.`);
  const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${slug} `) }) });
  await expect(row).toHaveCount(1);
  await expect(row.getByRole('cell').last()).toHaveText('yes');
  await row.getByText(/rows from \d+ tables/).click();
  await expect(row.getByRole('listitem').first()).toHaveText(/^\S+: [\d,]+$/);
  await expectAccessible(page);

  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Tenant (slug)').fill(slug);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`/operator/audit\\?tenant=${slug}$`));
  const actions = page.getByRole('rowheader');
  await expect(actions).toHaveText(['tenant.purge', 'tenant.delete', 'tenant.restore', 'tenant.delete', 'tenant.create']);
  const purge = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'tenant.purge' }) });
  await expect(purge.getByRole('cell').nth(1)).toContainText(demo.operator);
  await expect(purge.getByRole('cell').last()).toContainText('"verified":true');

  await page.goto(`/operator/tenants/${slug}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
});
