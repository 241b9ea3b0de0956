import { demo, expect, expectAccessible, signedIn, test } from './fixtures';

function unique(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

test('the admin invites a person and revokes it, makes a custom role and a department tree', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'People' })).toBeVisible();
  await expect(page.getByRole('cell', { name: demo.acmeAdmin, exact: true })).toBeVisible();

  const email = `invited-${unique()}@acme.example`;
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  await expect(page.getByLabel('Invitation link')).toHaveValue(/\/invite\/\S+/);
  await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible();
  const pending = page.getByRole('row').filter({ hasText: email });
  await expect(pending).toBeVisible();
  await page.getByRole('button', { name: `Revoke the invitation to ${email}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `invitation to ${email} is revoked` })).toBeVisible();
  await expect(pending).toHaveCount(0);

  const role = `auditor-${unique()}`;
  await page.getByRole('link', { name: 'Roles' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Roles' })).toBeVisible();
  await page.getByLabel('Role name').fill(role);
  await page.getByLabel('assets:read').check();
  await page.getByLabel('audit:read').check();
  await page.getByRole('button', { name: 'Create role' }).click();
  await expect(page.getByRole('row').filter({ hasText: role })).toContainText('assets:read, audit:read');

  const dept = `Research ${unique()}`;
  await page.getByRole('link', { name: 'Departments' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Departments' })).toBeVisible();
  await page.getByLabel('Department name').fill(dept);
  await page.getByRole('button', { name: 'Create department' }).click();
  await expect(page.getByRole('status')).toHaveText(`Department ${dept} created.`);
  await page.getByLabel('Department name').fill(`${dept} lab`);
  await page.getByLabel('Parent department').selectOption({ label: dept });
  await page.getByRole('button', { name: 'Create department' }).click();
  await expect(page.getByRole('status')).toHaveText(`Department ${dept} lab created.`);
  // The child is listed under its parent, one level deeper.
  const items = page.getByRole('listitem').filter({ hasText: dept });
  await expect(items).toHaveCount(2);
  await expect(items.nth(0)).toContainText(dept);
  await expect(items.nth(1)).toContainText(`${dept} lab`);
  await expect(page.getByLabel('Parent department').getByRole('option', { name: `${dept} lab` })).toHaveCount(1);

  // The audit log shows what was done, and filters by action.
  await page.goto('/t/acme/audit');
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await page.getByLabel('Action').fill('role.create');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/action=role\.create/);
  await expect(page.getByRole('row').filter({ hasText: role })).toBeVisible();
  const actions = page.getByRole('row').getByRole('button', { name: 'role.create' });
  await expect(actions.first()).toBeVisible();
  // Waits until the filtered page has replaced the unfiltered one.
  await expect(page.getByRole('row').getByRole('button', { name: /^(?!role\.create$)[a-z_]+\.[a-z_.]+$/ })).toHaveCount(0);
  // The address is the view: a reload keeps the filter.
  await page.reload();
  await expect(page.getByLabel('Action')).toHaveValue('role.create');
  await expect(page.getByRole('row').filter({ hasText: role })).toBeVisible();
});

test('the admin makes an API token, sees its secret once, and revokes it', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API tokens' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API tokens' })).toBeVisible();
  const name = `ci-${unique()}`;
  await page.getByLabel('Token name').fill(name);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.getByLabel('Token secret');
  await expect(secret).toHaveValue(/\S{16,}/);
  await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible();
  const row = page.getByRole('row').filter({ hasText: name });
  await expect(row).toContainText('active');
  await expectAccessible(page);

  // Shown once: it is gone after a reload.
  await page.reload();
  await expect(row).toBeVisible();
  await expect(page.getByLabel('Token secret')).toHaveCount(0);

  page.on('dialog', (d) => d.accept());
  await page.getByRole('button', { name: `Revoke the token ${name}` }).click();
  await expect(page.getByRole('status')).toHaveText(`Token ${name} revoked.`);
  await expect(row).toContainText('revoked');

  await page.goto('/t/acme/audit?action=token.revoke');
  await expect(page.getByRole('row').getByRole('button', { name: 'token.revoke' }).first()).toBeVisible();
});

test('the audit log pages through its entries', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  // More entries than a page of 20: departments made through the API, as
  // the signed-in admin.
  const me = await (await page.request.get('/api/v1/auth/me')).json();
  const prefix = `Paging ${unique()}`;
  for (let i = 0; i < 21; i++) {
    const res = await page.request.post('/api/v1/t/acme/departments', {
      headers: { 'X-CSRF-Token': me.csrf_token },
      data: { name: `${prefix} ${i}`, parent_id: '' },
    });
    expect(res.status()).toBe(201);
  }
  await page.goto('/t/acme/audit');
  await page.getByLabel('Action').fill('department.create');
  await page.getByLabel('Page size').selectOption('20');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/limit=20/);
  const rows = page.getByRole('row');
  await expect(rows).toHaveCount(21); // the header and a page
  const first = (await rows.nth(1).textContent()) ?? '';
  const next = page.getByRole('button', { name: 'Next' });
  await expect(next).toBeEnabled();
  await next.click();
  await expect(page).toHaveURL(/after=/);
  await expect(rows.nth(1)).not.toHaveText(first);
  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(page).not.toHaveURL(/after=/);
  await expect(rows.nth(1)).toHaveText(first);
});

test('the viewer sees only what it may read and is refused the people pages', async ({ page }) => {
  await signedIn(page, demo.acmeViewer);
  // The console starts the viewer on the tenant's dashboard.
  await page.goto('/');
  await expect(page).toHaveURL(/\/t\/acme$/);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Assets' })).toBeVisible();
  for (const hidden of ['People', 'API tokens', 'Audit log']) {
    await expect(nav.getByRole('link', { name: hidden })).toHaveCount(0);
  }
  await expect(page.getByRole('heading', { name: 'Assets', level: 2 })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Devices', level: 2 })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Recent activity' })).toHaveCount(0);
  await expectAccessible(page);

  await page.goto('/t/acme/people');
  await expect(page.getByRole('heading', { level: 1, name: 'You do not have access' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText(/users:manage|permission/i);
  await expect(page.getByRole('button', { name: 'Invite' })).toHaveCount(0);

  await page.goto('/t/acme/audit');
  await expect(page.getByRole('heading', { level: 1, name: 'You do not have access' })).toBeVisible();
});

test('the admin’s dashboard shows counts and recent activity', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme');
  await expect(page.getByRole('heading', { level: 1, name: 'Acme Corp' })).toBeVisible();
  const assets = page.getByRole('region', { name: 'Assets' });
  await expect(assets.getByRole('link', { name: /^[\d,.\s]+ assets$/ })).toBeVisible();
  await expect(assets.getByRole('heading', { name: 'By status' })).toBeVisible();
  await expect(assets.getByRole('link', { name: 'Checked out to people' })).toBeVisible();
  const devices = page.getByRole('region', { name: 'Devices' });
  await expect(devices.getByRole('link', { name: 'Online' })).toBeVisible();
  await expect(page.getByRole('region', { name: /Licenses expiring/ })).toBeVisible();
  await expect(page.getByRole('region', { name: /Warranties ending/ })).toBeVisible();
  const activity = page.getByRole('region', { name: 'Recent activity' });
  await expect(activity.getByRole('row')).not.toHaveCount(0);
  await expect(activity.getByRole('link', { name: 'The whole audit log' })).toBeVisible();

  // A count links to the list it counts, filtered the same way.
  const status = assets.getByRole('listitem').first().getByRole('link');
  const href = await status.getAttribute('href');
  expect(href).toMatch(/^\/t\/acme\/assets\?status_id=/);
});
