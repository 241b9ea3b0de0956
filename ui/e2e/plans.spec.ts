// Plans and limits: the operator makes a plan and puts a tenant of the
// journey's own on it (the demo tenants stay as other journeys expect
// them), and the tenant's admin works within it: no controls for what the
// plan leaves out, and the plan's cap named where an asset is refused.
import { API, unique as uniqueName } from './assets-helpers';
import { demo, expect, expectAccessible, signedIn, test } from './fixtures';
import { acceptInvitation, createTenant, inviteLink, unique } from './tenants';

test('the operator puts a tenant on a plan without labels and with five assets, and its admin works within it', async ({ page, browser }) => {
  await signedIn(page, demo.operator);
  await page.goto('/operator/tenants');

  // A plan of five assets and every feature but labels.
  const plan = uniqueName('team');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plans' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Plans' })).toBeVisible();
  const form = page.getByRole('region', { name: 'New plan' });
  await form.getByLabel('Name', { exact: true }).fill(plan);
  await form.getByLabel('Assets (max_assets)').fill('5');
  await form.getByLabel('Every feature').uncheck();
  await form.getByLabel('labels (labels)').uncheck();
  await form.getByRole('button', { name: 'Create plan' }).click();
  await expect(page.getByRole('status')).toHaveText(`Plan ${plan} created.`);
  const row = page.getByRole('row').filter({ hasText: plan });
  await expect(row).toContainText('max_assets 5');
  await expect(row).toContainText('api_tokens, custom_fields, fleet, import');

  // Edited: ten devices too.
  await row.getByRole('button', { name: `Edit plan ${plan}` }).click();
  const edit = page.getByRole('region', { name: `Edit plan ${plan}` });
  await expect(edit.getByLabel('Assets (max_assets)')).toHaveValue('5');
  await edit.getByLabel('Devices (max_devices)').fill('10');
  await edit.getByRole('button', { name: 'Save plan' }).click();
  await expect(page.getByRole('status')).toHaveText(`Plan ${plan} saved.`);
  await expect(row).toContainText('max_assets 5, max_devices 10');
  await expect(row).toContainText('api_tokens, custom_fields, fleet, import');

  // A tenant of the journey's own, moved onto it.
  const tenant = await createTenant(page);
  const limits = page.getByRole('region', { name: 'Plan and limits' });
  await limits.getByLabel('Plan', { exact: true }).selectOption(plan);
  await limits.getByRole('button', { name: 'Change plan' }).click();
  await expect(limits.getByRole('status')).toHaveText(`The tenant is on plan ${plan}.`);
  await expect(limits.getByRole('row', { name: /max_assets/ }).getByRole('cell').last()).toHaveText('5');
  await expect(limits.getByRole('row', { name: 'Features' }).getByRole('cell').last()).toHaveText('fleet, custom_fields, import, api_tokens');

  // Its admin joins, and has five assets.
  const link = await inviteLink(page, `admin-${unique()}@example.org`);
  const { context, page: admin } = await acceptInvitation(browser, link, page.url(), tenant);
  try {
    const api = await API.of(admin, tenant.slug);
    const model = await api.model(uniqueName('Laptop'), await api.category(uniqueName('Laptops')));
    for (let i = 0; i < 5; i++) await api.asset({ model_id: model, name: `Laptop ${i}` });

    // No labels: no selection to print them from, nor a label on an asset.
    await admin.goto(`/t/${tenant.slug}/assets`);
    await expect(admin.getByText('5 assets')).toBeVisible();
    await expect(admin.getByRole('link', { name: 'Import CSV' })).toBeVisible();
    await expect(admin.getByRole('checkbox', { name: 'Select all on this page' })).toHaveCount(0);
    await admin.getByRole('region', { name: 'Assets' }).getByRole('link').first().click();
    await expect(admin.getByRole('link', { name: 'Edit' })).toBeVisible();
    await expect(admin.getByRole('link', { name: 'Label', exact: true })).toHaveCount(0);

    // A sixth asset is refused, naming the plan's cap.
    await admin.goto(`/t/${tenant.slug}/assets/new`);
    await admin.getByLabel('Model').selectOption({ index: 1 });
    await admin.getByLabel('Name', { exact: true }).fill('Laptop 6');
    await admin.getByRole('button', { name: 'Create asset' }).click();
    await expect(admin.getByRole('alert')).toContainText('max_assets');
    await expect(admin.getByRole('alert')).toContainText('allows 5 assets');

    // So is an imported one, in the report's problems.
    await admin.goto(`/t/${tenant.slug}/assets/import`);
    const csv = Buffer.from(`Asset Tag,Name,Model,Category\n${uniqueName('IMP')},Imported laptop,Model X,Laptops X\n`);
    await admin.getByLabel('CSV file').setInputFiles({ name: 'more.csv', mimeType: 'text/csv', buffer: csv });
    await admin.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = admin.getByRole('region', { name: 'Dry run report' });
    await expect(preview).toContainText('allows 5 of max_assets');
    await expect(preview.getByRole('region', { name: 'Problems, by line' })).toContainText('max_assets');
  } finally {
    await context.close();
  }
});

test('a page of a feature the plan leaves out says so', async ({ page, browser }) => {
  await signedIn(page, demo.operator);
  const tenant = await createTenant(page);

  // The tenant's overrides leave out the fleet and API tokens.
  const limits = page.getByRole('region', { name: 'Plan and limits' });
  await limits.getByText('Edit overrides').click();
  await limits.getByLabel("The plan's features").uncheck();
  await limits.getByLabel(/^the fleet/).uncheck();
  await limits.getByLabel(/^API tokens \(api_tokens\)/).uncheck();
  await limits.getByRole('button', { name: 'Save overrides' }).click();
  await expect(limits.getByRole('status')).toHaveText('Overrides saved.');
  await expect(limits.getByRole('row', { name: 'Features' }).getByRole('cell').last()).toHaveText('custom_fields, import, labels');

  const link = await inviteLink(page, `admin-${unique()}@example.org`);
  const { context, page: admin } = await acceptInvitation(browser, link, page.url(), tenant);
  try {
    const nav = admin.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link', { name: 'Assets' })).toBeVisible();
    await expect(nav.getByRole('link', { name: 'Devices' })).toHaveCount(0);
    await expect(nav.getByRole('link', { name: 'API tokens' })).toHaveCount(0);
    for (const path of ['fleet', 'devices', 'tokens']) {
      await admin.goto(`/t/${tenant.slug}/${path}`);
      await expect(admin.getByRole('heading', { level: 1, name: "Not in this tenant's plan" })).toBeVisible();
    }
    await expect(admin.getByRole('alert')).toContainText('API tokens');
    await expectAccessible(admin);
  } finally {
    await context.close();
  }
});
