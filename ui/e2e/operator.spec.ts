import { demo, expect, expectAccessible, signedIn, test } from './fixtures';
import { acceptInvitation, createTenant, inviteLink, unique } from './tenants';

test('the operator creates a tenant and invites its admin, who accepts and lands on its dashboard', { tag: '@journey' }, async ({ page, browser }) => {
  await signedIn(page, demo.operator);
  await page.goto('/operator/tenants');
  await expect(page.getByRole('columnheader', { name: 'Last activity' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Acme Corp' })).toBeVisible();
  // The server the tenants are kept on, with how many and its size.
  const own = page.getByRole('region', { name: 'Servers' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^(local|main)$/ }) });
  await expect(own).toHaveCount(1);
  await expect(own.getByRole('cell').nth(1)).toHaveText(/^[1-9][\d,.]*$/);
  await expect(own.getByRole('cell').nth(2)).toHaveText(/[1-9].*MB/);
  await expectAccessible(page);

  const { slug, name } = await createTenant(page);
  await expect(page.getByText(/Schema version/)).toBeVisible();
  await expect(page.getByText('up to date')).toBeVisible();

  const email = `admin-${unique()}@example.org`;
  const link = await inviteLink(page, email);

  // The person invited opens the link in a browser of their own.
  const { context, page: them } = await acceptInvitation(browser, link, page.url(), { slug, name });
  try {
    await expect(them.getByRole('button', { name: 'Sign out' })).toBeVisible();
    await expect(them.getByRole('banner').getByText(email)).toBeVisible();
  } finally {
    await context.close();
  }
});

test('the operator registers a device, assigns it to a tenant and sees its custody history', async ({ page }) => {
  await signedIn(page, demo.operator);
  const { slug } = await createTenant(page);

  await page.goto('/operator/devices');
  await expect(page.getByRole('heading', { level: 1, name: 'Device inventory' })).toBeVisible();
  const ident = `dev-${unique()}`;
  await page.getByLabel('Ident').fill(ident);
  await page.getByLabel('Serial').fill(`SN-${ident}`);
  await page.getByRole('button', { name: 'Register device', exact: true }).click();
  await expect(page.getByLabel('Device credential')).toHaveValue(/\S{16,}/);
  await page.getByRole('link', { name: ident }).first().click();

  await expect(page.getByRole('heading', { level: 1, name: `Device ${ident}` })).toBeVisible();
  await expect(page.getByText('No tenant has held it.')).toBeVisible();
  await page.getByLabel('Tenant (slug)').fill(slug);
  await page.getByRole('button', { name: 'Assign' }).click();
  await expect(page.getByRole('status').filter({ hasText: `held by ${slug}` })).toBeVisible();
  const history = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Until' }) });
  await expect(history.getByRole('row').filter({ hasText: slug })).toContainText('now');

  // The inventory filtered by the tenant lists it.
  await page.goto(`/operator/devices?tenant=${slug}`);
  await expect(page.getByRole('link', { name: ident })).toBeVisible();
  await expect(page.getByText('1 devices')).toBeVisible();
});

test('the operator suspends and resumes a tenant', async ({ page }) => {
  await signedIn(page, demo.operator);
  const { name } = await createTenant(page);
  page.on('dialog', (d) => d.accept());

  await page.getByRole('button', { name: 'Suspend tenant' }).click();
  await expect(page.getByRole('status')).toHaveText('The tenant is suspended.');
  await expect(page.getByText('suspended', { exact: true })).toBeVisible();
  await expect(page.getByText(/not read while the tenant is not served/).first()).toBeVisible();

  await page.getByRole('button', { name: 'Resume tenant' }).click();
  await expect(page.getByRole('status')).toHaveText('The tenant is active again.');
  await expect(page.getByText('active', { exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
});
