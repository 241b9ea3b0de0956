import { demo, expect, expectAccessible, signIn, signedIn, test } from './fixtures';

test('the demo admin signs in, lands on the dashboard and signs out', { tag: '@journey' }, async ({ page }) => {
  await page.goto('/t/acme');
  await expect(page).toHaveURL(/\/login\?next=%2Ft%2Facme$/);
  await signIn(page, demo.acmeAdmin);
  await expect(page).toHaveURL(/\/t\/acme$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Acme Corp' })).toBeVisible();
  // The shell at desktop width (pages.spec.ts checks every page at phone width, where the side navigation folds away).
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
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/globex');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  const missing = await page.locator('main').innerText();
  await page.goto('/t/no-such-tenant-anywhere');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  // Indistinguishable from a tenant that does not exist.
  expect(await page.locator('main').innerText()).toBe(missing);
});

test('a page asks for its tenant once, so what it loaded is not loaded again over a form being filled in', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const asked: Record<string, number> = {};
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.method() === 'GET' && (path === '/api/v1/t/acme' || path === '/api/v1/t/acme/settings/asset-tags')) asked[path] = (asked[path] ?? 0) + 1;
  });
  await page.goto('/t/acme/settings');
  await page.getByLabel('Prefix').fill('ONCE-');
  // The settings show only once the tenant has loaded; a second request for
  // it would have been made before the first answer came back.
  expect(asked['/api/v1/t/acme']).toBe(1);
  await expect(page.getByLabel('Offline after (minutes)')).toBeVisible();
  expect(asked['/api/v1/t/acme/settings/asset-tags']).toBe(1);
  await expect(page.getByLabel('Prefix')).toHaveValue('ONCE-');
});
