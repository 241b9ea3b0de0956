import { demo, expect, expectAccessible, signIn, test } from './fixtures';

test('the demo admin signs in, lands on the dashboard and signs out', { tag: '@journey' }, async ({ page }) => {
  await page.goto('/t/acme');
  await expect(page).toHaveURL(/\/login\?next=%2Ft%2Facme$/);
  await expectAccessible(page);
  await signIn(page, demo.acmeAdmin);
  await expect(page).toHaveURL(/\/t\/acme$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Acme Corp' })).toBeVisible();
  await expectAccessible(page);
  // A reload keeps the page: the address is the page.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Acme Corp' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test('a wrong password is refused with the server’s message', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(demo.acmeAdmin);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText(/password/i);
  await expect(page).toHaveURL(/\/login$/);
});

test('an admin of one tenant typing another tenant’s address sees not found', { tag: '@journey' }, async ({ page }) => {
  await signIn(page, demo.acmeAdmin);
  await page.goto('/t/globex');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  const missing = await page.locator('main').innerText();
  await page.goto('/t/no-such-tenant-anywhere');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  // Indistinguishable from a tenant that does not exist.
  expect(await page.locator('main').innerText()).toBe(missing);
  await expectAccessible(page);
});
