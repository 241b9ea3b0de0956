// The operator exports a tenant whole, downloads its archive, and imports
// it as a new tenant from the file downloaded; and moves a tenant to
// another tier, watching it copy.
import type { APIRequestContext } from '@playwright/test';
import { stat } from 'node:fs/promises';
import { demo, demoPassword, expect, expectAccessible, signedIn, test } from './fixtures';
import { createTenant, unique } from './tenants';

test('the operator exports a tenant, downloads it and imports it under a new slug', async ({ page }, testInfo) => {
  await signedIn(page, demo.operator);
  const { slug, name } = await createTenant(page);

  const exports = page.getByRole('region', { name: 'Export', exact: true });
  await exports.getByRole('button', { name: 'Export tenant' }).click();
  await expect(exports.getByText(/^Export done: \d+ tables, .*; kept by node \S+ until /)).toBeVisible();
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

  const row = page.getByRole('region', { name: 'Tenants', exact: true }).getByRole('row').filter({ hasText: copy });
  await expect(row).toHaveCount(1);
  await row.getByRole('link', { name }).click();
  await expect(page).toHaveURL(new RegExp(`/operator/tenants/${copy}$`));
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
});

/** Signs in through the API in request and answers the headers a change needs. */
async function apiSignIn(request: APIRequestContext, email: string, password: string): Promise<{ 'X-CSRF-Token': string }> {
  const login = await request.post('/api/v1/auth/login', { data: { email, password } });
  expect(login.status(), await login.text()).toBe(200);
  return { 'X-CSRF-Token': ((await login.json()) as { csrf_token: string }).csrf_token };
}

test('the operator moves a tenant from pool to silo and watches it copy', async ({ page, playwright, baseURL }) => {
  // A tenant on the pool, made through the API, whose first admin (invited
  // and joined through the API too) gives it an asset.
  const slug = `mv-${unique()}`;
  const name = `Moving ${slug}`;
  const operator = await playwright.request.newContext({ baseURL });
  const admin = await playwright.request.newContext({ baseURL });
  try {
    const asOperator = await apiSignIn(operator, demo.operator, demoPassword);
    const made = await operator.post('/api/v1/operator/tenants', { headers: asOperator, data: { slug, name, tier: 'pool' } });
    expect(made.status(), await made.text()).toBe(201);
    const email = `admin@${slug}.example`;
    const invited = await operator.post(`/api/v1/operator/tenants/${slug}/members`, { headers: asOperator, data: { email, role: 'admin' } });
    expect(invited.status(), await invited.text()).toBe(201);
    const token = new URL(((await invited.json()) as { link: string }).link).pathname.split('/').pop();
    const password = 'a long and private passphrase';
    const accepted = await admin.post(`/api/v1/invitations/${token}/accept`, { data: { name: 'First Admin', password } });
    expect(accepted.status(), await accepted.text()).toBe(200);
    const asAdmin = await apiSignIn(admin, email, password);
    const create = async (path: string, data: object): Promise<string> => {
      const res = await admin.post(`/api/v1/t/${slug}/${path}`, { headers: asAdmin, data });
      expect(res.status(), await res.text()).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const category = await create('categories', { name: 'Laptops' });
    const model = await create('models', { name: 'Laptop 14', category_id: category });
    const assetPath = `/api/v1/t/${slug}/assets/${await create('assets', { name: 'Moved laptop', model_id: model })}`;

    await signedIn(page, demo.operator);
    await page.goto(`/operator/tenants/${slug}`);
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await expect(page.getByRole('definition').filter({ hasText: /^pool$/ })).toBeVisible();

    const move = page.getByRole('region', { name: 'Move', exact: true });
    await move.getByLabel('Move to tier').selectOption('silo');
    await move.getByRole('button', { name: 'Move tenant' }).click();
    await expect(move.getByRole('status')).toHaveText(/^Moved from pool to silo: (\d+) tables, [\d,]+ rows, verified; writes paused for \d+\.\d s\.$/);
    await expect(move.getByRole('progressbar')).toHaveCount(0);
    await expect(move.getByText(/^started on node \S+ /)).toBeVisible();
    await expect(page.getByRole('definition').filter({ hasText: /^silo$/ })).toBeVisible();

    // Where it is already: refused beside the field.
    await move.getByRole('button', { name: 'Move tenant' }).click();
    await expect(move.getByText("the tenant's own")).toBeVisible();

    const read = await admin.get(assetPath);
    expect(read.status(), await read.text()).toBe(200);
    expect(((await read.json()) as { name: string }).name).toBe('Moved laptop');
  } finally {
    await operator.dispose();
    await admin.dispose();
  }
});
