import { API, asAdmin, unique } from './assets-helpers';
import { demo, expect, expectAccessible, signedIn, test } from './fixtures';

/** A custom field key from a unique name. */
const keyOf = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_');

test('the admin makes a custom field, an asset using it, checks it out and in, and sees its history', { tag: '@journey' }, async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const api = await API.of(page);
  const u = unique('j1');
  const category = await api.category(`Laptops ${u}`);
  const field = await api.field({ key: keyOf(`mac_${u}`), name: `MAC address ${u}`, type: 'text', help_text: 'As printed on the box' });
  await api.fieldSet(`Network ${u}`, [field], [category]);
  await api.model(`Latitude ${u}`, category, '', await api.depreciation(`Five years ${u}`, 60));
  const members = await api.get<{ members: { user_id: string; email: string }[] }>('/members?limit=1000');
  const viewer = members.members.find((m) => m.email === demo.acmeViewer)!;

  await page.goto('/t/acme/assets/new');
  await expect(page.getByRole('heading', { name: 'New asset' })).toBeVisible();
  await page.getByLabel('Model').selectOption({ label: `Latitude ${u}` });
  await page.getByLabel('Name', { exact: true }).fill(`Laptop ${u}`);
  const mac = page.getByLabel(`MAC address ${u}`);
  await expect(mac).toBeVisible();
  await expect(mac).toHaveAccessibleDescription(/As printed on the box/);
  await mac.fill('00:11:22:33:44:55');
  await page.getByLabel('Purchase date').fill('2025-01-15');
  await page.getByLabel('Cost').fill('1299.5');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByRole('button', { name: 'Create asset' }).click();

  // The detail page: its fields, custom fields and book value.
  await expect(page.getByRole('heading', { level: 1, name: new RegExp(`Laptop ${u}`) })).toBeVisible();
  await expect(page).toHaveURL(/\/t\/acme\/assets\/[^/]+$/);
  const custom = page.getByRole('region', { name: 'Custom fields' });
  await expect(custom).toContainText(`MAC address ${u}`);
  await expect(custom).toContainText('00:11:22:33:44:55');
  const details = page.getByRole('region', { name: 'Details' });
  // The book value is the API's, in the asset's currency.
  await expect(details).toContainText(/Book value€[\d,]+\.\d\d/);
  await expect(details).toContainText(new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(1299.5));

  // Check out to a member, with an expected return.
  await page.getByLabel('Check out to').selectOption('user');
  await page.getByLabel('Member', { exact: true }).selectOption(viewer.user_id);
  await page.getByLabel('Expected return').fill('2031-05-17');
  await page.getByLabel('Note').fill(`for the trip ${u}`);
  await page.getByRole('button', { name: 'Check out', exact: true }).click();
  const holder = page.getByRole('region', { name: 'Checked out' });
  await expect(holder).toContainText(demo.acmeViewer);
  await expect(page.getByRole('button', { name: 'Check in' })).toBeVisible();

  // And back in.
  await page.getByLabel('Note').fill(`returned ${u}`);
  await page.getByRole('button', { name: 'Check in' }).click();
  await expect(holder).toContainText('Not checked out');

  const history = page.getByRole('list', { name: 'History, newest first' });
  await expect(history.getByRole('listitem').filter({ hasText: 'Checked out' })).toContainText(demo.acmeViewer);
  await expect(history.getByRole('listitem').filter({ hasText: 'Checked in' })).toContainText(`returned ${u}`);
  await expect(history.getByRole('listitem').filter({ hasText: 'Created' })).toBeVisible();
  // Newest first: the check-in above the check-out above the creation.
  await expect(history.getByRole('listitem').locator('strong')).toHaveText(['Checked in', 'Checked out', 'Created']);
});

test('the admin records maintenances, opens the label, edits and deletes an asset', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const api = await API.of(page);
  const u = unique('j1b');
  const category = await api.category(`Tablets ${u}`);
  const field = await api.field({ key: keyOf(`imei_${u}`), name: `IMEI ${u}`, type: 'text' });
  await api.fieldSet(`Mobile ${u}`, [field], [category]);
  const model = await api.model(`Tab ${u}`, category);
  const made = await api.asset({ model_id: model, name: `Tablet ${u}`, fields: { [keyOf(`imei_${u}`)]: '356938035643809' } });
  await page.goto(`/t/acme/assets/${made.id}`);
  await expect(page.getByRole('heading', { level: 1, name: new RegExp(`Tablet ${u}`) })).toBeVisible();
  const details = page.getByRole('region', { name: 'Details' });

  // A maintenance, added, changed and removed.
  await page.getByRole('button', { name: 'Add maintenance' }).click();
  await page.getByLabel('Kind').selectOption('repair');
  await page.getByLabel('Title').fill(`New keyboard ${u}`);
  await page.getByLabel('Started').fill('2026-01-05');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const maint = page.getByRole('region', { name: 'Maintenances' });
  await expect(maint.getByRole('cell', { name: `New keyboard ${u}`, exact: true })).toBeVisible();
  await maint.getByRole('button', { name: `Edit New keyboard ${u}` }).click();
  await page.getByLabel('Title').fill(`New keyboard and battery ${u}`);
  await page.getByRole('button', { name: 'Save maintenance' }).click();
  await expect(maint.getByRole('cell', { name: `New keyboard and battery ${u}`, exact: true })).toBeVisible();
  await maint.getByRole('button', { name: `Delete New keyboard and battery ${u}` }).click();
  await maint.getByRole('button', { name: `Yes, delete New keyboard and battery ${u}` }).click();
  await expect(maint).toContainText('No maintenance recorded');

  // The label is the API's SVG.
  const label = page.getByRole('link', { name: 'Label' });
  await expect(label).toHaveAttribute('href', /\/api\/v1\/t\/acme\/assets\/[^/]+\/label\.svg$/);
  const svg = await page.request.get((await label.getAttribute('href'))!);
  expect(svg.headers()['content-type']).toContain('image/svg+xml');

  // Edit keeps the custom field, and delete asks first.
  await page.getByRole('link', { name: 'Edit' }).click();
  await expect(page.getByLabel(`IMEI ${u}`)).toHaveValue('356938035643809');
  await page.getByLabel('Serial').fill(`SN-${u}`);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(details).toContainText(`SN-${u}`);
  const url = page.url();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: /Yes, delete/ }).click();
  await expect(page).toHaveURL(/\/t\/acme\/assets$/);
  await page.goto(url);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  const gone = await page.locator('main').innerText();
  await page.goto('/t/acme/assets/no-such-asset');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
  expect(await page.locator('main').innerText()).toBe(gone);
});

test('an import shows its progress and report, and the imported assets are found in the list', { tag: '@journey' }, async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const u = unique('imp');
  const rows = 300;
  const lines = ['Asset Tag,Name,Model,Category,Serial'];
  for (let i = 1; i <= rows; i++) {
    lines.push(`${u}-${String(i).padStart(4, '0')},Imported ${u} ${i},Model ${u},Category ${u},S${i}`);
  }
  const csv = Buffer.from(lines.join('\n') + '\n');

  await page.goto('/t/acme/assets/import');
  await expect(page.getByRole('heading', { name: 'Import assets' })).toBeVisible();
  await page.getByLabel('CSV file').setInputFiles({ name: `${u}.csv`, mimeType: 'text/csv', buffer: csv });

  // The dry run answers at once and changes nothing.
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  const preview = page.getByRole('region', { name: 'Dry run report' });
  await expect(preview).toContainText('A dry run: nothing was imported');
  await expect(preview.getByRole('definition').nth(1)).toHaveText(String(rows.toLocaleString()));

  // The import runs as a job; its first progress report is held back so
  // the running state can be seen, then the job runs to its report.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route(/\/api\/v1\/t\/acme\/imports\/[^/?]+$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const progress = page.getByRole('progressbar', { name: 'Progress' });
  await expect(progress).toBeVisible();
  await expect(progress).toHaveAttribute('max', String(csv.length));
  await expect(page.getByRole('status').filter({ hasText: 'Running' })).toContainText(`of ${csv.length.toLocaleString()} bytes`);
  release();
  await expect(page.getByRole('status').filter({ hasText: /^\s*Done/ })).toContainText(`${rows.toLocaleString()} rows read`);
  await page.unroute(/\/api\/v1\/t\/acme\/imports\/[^/?]+$/);
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('Imported.');
  await expect(report.getByRole('definition').nth(1)).toHaveText(rows.toLocaleString());
  await expectAccessible(page);
  // Listed among the earlier imports.
  await expect(page.getByRole('region', { name: 'Earlier imports' }).getByRole('cell', { name: `${u}.csv` })).toBeVisible();

  // Found by search in the list, with the search in the address.
  await page.goto('/t/acme/assets');
  await page.getByLabel('Search assets').fill(u);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]q=${u}`));
  await expect(page.getByRole('status').filter({ hasText: 'assets' })).toContainText(`${rows.toLocaleString()} assets match`);
  await expect(page.getByRole('link', { name: `${u}-0001` })).toBeVisible();
});

test('a form with bad values shows the server’s messages beside the fields', { tag: '@journey' }, async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const api = await API.of(page);
  const u = unique('bad');
  const category = await api.category(`Servers ${u}`);
  const ram = await api.field({ key: keyOf(`ram_${u}`), name: `RAM GB ${u}`, type: 'number' });
  const set = await api.fieldSet(`Hardware ${u}`, [ram], []);
  await api.model(`PowerEdge ${u}`, category, set);

  await page.goto('/t/acme/assets/new');
  await page.getByLabel('Model').selectOption({ label: `PowerEdge ${u}` });
  await page.getByLabel('Name', { exact: true }).fill(`Server ${u}`);
  await page.getByLabel('Purchase date').fill('1800-01-01');
  await page.getByLabel('Cost').fill('-5');
  await page.getByLabel(`RAM GB ${u}`).fill('plenty');
  await page.getByRole('button', { name: 'Create asset' }).click();

  // The asset's own fields first; each message is beside its field.
  const date = page.getByLabel('Purchase date');
  await expect(date).toHaveAttribute('aria-invalid', 'true');
  await expect(date).toHaveAccessibleDescription(/purchase date must be a date/);
  await expect(page.getByLabel('Cost')).toHaveAccessibleDescription(/cost_cents must be from 0/);
  await expect(page.getByRole('heading', { name: 'New asset' })).toBeVisible();
  await expectAccessible(page);

  // Mended, the custom field's value is the one left wrong.
  await date.fill('2025-02-03');
  await page.getByLabel('Cost').fill('5');
  await page.getByRole('button', { name: 'Create asset' }).click();
  const field = page.getByLabel(`RAM GB ${u}`);
  await expect(field).toHaveAccessibleDescription(/"plenty" is not a number/);
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Purchase date')).not.toHaveAttribute('aria-invalid', 'true');

  await field.fill('64');
  await page.getByRole('button', { name: 'Create asset' }).click();
  await expect(page.getByRole('region', { name: 'Custom fields' })).toContainText('64');
});

test('a cost is typed and shown in its currency’s own minor unit: whole yen, fils in thousandths', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const api = await API.of(page);
  const u = unique('yen');
  await api.model(`Camera ${u}`, await api.category(`Cameras ${u}`));
  const shown = (amount: number, currency: string) => page.evaluate(([n, c]) => new Intl.NumberFormat(undefined, { style: 'currency', currency: c }).format(n), [amount, currency] as const);

  await page.goto('/t/acme/assets/new');
  await page.getByLabel('Model').selectOption({ label: `Camera ${u}` });
  await page.getByLabel('Name', { exact: true }).fill(`Camera ${u}`);
  await page.getByLabel('Currency').fill('JPY');
  const cost = page.getByLabel('Cost');
  await expect(cost).toHaveAccessibleDescription(/such as 1299$/);
  // Yen have no fraction: refused beside the field, before the server is asked.
  await cost.fill('12.5');
  await page.getByRole('button', { name: 'Create asset' }).click();
  await expect(cost).toHaveAttribute('aria-invalid', 'true');
  await expect(cost).toHaveAccessibleDescription(/JPY has no minor unit: write a whole amount/);
  await expect(page.getByRole('heading', { name: 'New asset' })).toBeVisible();

  await cost.fill('1234');
  await page.getByRole('button', { name: 'Create asset' }).click();
  await expect(page.getByRole('heading', { level: 1, name: new RegExp(`Camera ${u}`) })).toBeVisible();
  const details = page.getByRole('region', { name: 'Details' });
  await expect(details).toContainText(`Cost${await shown(1234, 'JPY')}`);
  const id = /\/assets\/([^/]+)$/.exec(page.url())![1]!;
  expect((await api.get<{ cost_cents: number; currency: string }>(`/assets/${id}`)).cost_cents).toBe(1234);

  // The form shows the yen as typed; in dinars of Bahrain, three digits
  // after the point are the fils.
  await page.getByRole('link', { name: 'Edit' }).click();
  await expect(cost).toHaveValue('1234');
  await page.getByLabel('Currency').fill('BHD');
  await cost.fill('1.2345');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(cost).toHaveAccessibleDescription(/An amount in BHD has at most 3 digits after the point/);
  await cost.fill('1.5');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(details).toContainText(`Cost${await shown(1.5, 'BHD')}`);
  expect((await api.get<{ cost_cents: number }>(`/assets/${id}`)).cost_cents).toBe(1500);
});

test('the viewer sees assets with no editing controls, and the API refuses its changes', { tag: '@journey' }, async ({ page, playwright, baseURL }) => {
  // The admin makes an asset for the viewer to look at.
  const u = unique('view');
  const { model, asset } = await asAdmin(playwright, baseURL, async (api) => {
    const model = await api.model(`Monitor ${u}`, await api.category(`Screens ${u}`));
    return { model, asset: await api.asset({ model_id: model, name: `Screen ${u}` }) };
  });

  await signedIn(page, demo.acmeViewer);
  await page.goto(`/t/acme/assets?q=${u}`);
  await expect(page.getByRole('link', { name: asset.tag })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Assets' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'New asset' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Import CSV' })).toHaveCount(0);

  await page.getByRole('link', { name: asset.tag }).click();
  await expect(page.getByRole('heading', { level: 1, name: new RegExp(`Screen ${u}`) })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Checked out' })).toContainText('Not checked out');
  for (const name of ['Edit', 'Delete', 'Check out', 'Check in', 'Add maintenance']) {
    await expect(page.getByRole('button', { name, exact: true })).toHaveCount(0);
    await expect(page.getByRole('link', { name, exact: true })).toHaveCount(0);
  }
  await expect(page.getByRole('link', { name: 'Label' })).toBeVisible();

  // The form tells the viewer it may not change assets.
  await page.goto(`/t/acme/assets/${asset.id}/edit`);
  await expect(page.getByText('Your role may not change assets.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save changes' })).toHaveCount(0);

  // Trying the API anyway, with the viewer's own CSRF token.
  const viewer = await API.of(page);
  expect((await viewer.send('POST', '/assets', { tag: '', name: `Sneaky ${u}`, model_id: model })).status).toBe(403);
  expect((await viewer.send('POST', `/assets/${asset.id}/checkout`, { holder_type: 'location', holder_id: 'x', expected_return: '', note: '' })).status).toBe(403);
  expect((await viewer.send('DELETE', `/assets/${asset.id}`)).status).toBe(403);
});

test('the viewer sees who holds an asset by name, not by id', async ({ page, playwright, baseURL }) => {
  // The admin checks an asset out to one of the tenant's people.
  const u = unique('held');
  const { asset, person } = await asAdmin(playwright, baseURL, async (api) => {
    const asset = await api.asset({ model_id: await api.model(`Headset ${u}`, await api.category(`Audio ${u}`)), name: `Headset ${u}` });
    const { people } = await api.get<{ people: { user_id: string; name: string; email: string; disabled: boolean }[] }>('/people?limit=1000');
    const person = people.find((p) => p.name && !p.disabled && p.email !== demo.acmeViewer)!;
    expect(person, 'a demo person with a name').toBeTruthy();
    await api.must('POST', `/assets/${asset.id}/checkout`, { holder_type: 'user', holder_id: person.user_id, expected_return: '', note: '' });
    return { asset, person };
  });

  // The viewer may not manage people, yet the list and the asset name the holder.
  await signedIn(page, demo.acmeViewer);
  await page.goto(`/t/acme/assets?q=${u}`);
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: asset.tag }) });
  await expect(row).toContainText(person.name);
  await expect(row).not.toContainText(person.user_id);

  await page.getByRole('link', { name: asset.tag }).click();
  const holder = page.getByRole('region', { name: 'Checked out' });
  await expect(holder).toContainText(person.name);
  await expect(holder).toContainText(person.email);
  await expect(holder).not.toContainText(person.user_id);
});

test('the list pages through a search a page at a time, with the filter in the address', async ({ page }) => {
  await signedIn(page, demo.acmeAdmin);
  const api = await API.of(page);
  const u = unique('page');
  const model = await api.model(`Phone ${u}`, await api.category(`Phones ${u}`));
  const made = 12;
  for (let i = 1; i <= made; i++) {
    await api.asset({ model_id: model, name: `Phone ${u} ${i}`, tag: `${u}-${String(i).padStart(2, '0')}` });
  }

  await page.goto(`/t/acme/assets?q=${u}&limit=5`);
  const rows = page.getByRole('table').getByRole('row');
  await expect(page.getByRole('status').filter({ hasText: 'assets' })).toContainText(`${made} assets match`);
  await expect(rows).toHaveCount(6); // the header and 5 assets
  await expect(page.getByRole('link', { name: `${u}-01` })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Previous' })).toHaveCount(0);

  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('link', { name: `${u}-06` })).toBeVisible();
  await expect(page.getByRole('link', { name: `${u}-01` })).toHaveCount(0);
  await expect(page).toHaveURL(/[?&]after=/);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('link', { name: `${u}-11` })).toBeVisible();
  await expect(rows).toHaveCount(3);
  await expect(page.getByRole('button', { name: 'Next' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Previous' }).click();
  await expect(page.getByRole('link', { name: `${u}-06` })).toBeVisible();

  // A reload keeps the page: the address holds the search, the size and the cursor.
  await page.reload();
  await expect(page.getByRole('link', { name: `${u}-06` })).toBeVisible();
  await expect(rows).toHaveCount(6);
  await page.getByRole('button', { name: 'First page' }).click();
  await expect(page.getByRole('link', { name: `${u}-01` })).toBeVisible();

  // Sorting is the API's: from the menu, or a column's header.
  await page.getByLabel('Sort by').selectOption('-tag');
  await expect(page).toHaveURL(/sort=-tag/);
  await expect(rows.nth(1)).toContainText(`${u}-12`);
  await page.getByRole('button', { name: 'Name', exact: true }).click();
  await expect(page).toHaveURL(/sort=name/);
  await expect(page.getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'ascending');
  await expect(rows.nth(1)).toContainText(`Phone ${u} 1`);
  await expect(rows.nth(2)).toContainText(`Phone ${u} 10`);

  // Columns chosen are remembered.
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'Serial' }).check();
  await expect(page.getByRole('columnheader', { name: 'Serial' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('columnheader', { name: 'Serial' })).toBeVisible();

  // Selection: labels for the selected, export of the filter.
  await page.getByRole('checkbox', { name: 'Select all on this page' }).check();
  const labels = page.getByRole('link', { name: 'Labels for 5 selected' });
  await expect(labels).toHaveAttribute('href', /\/api\/v1\/t\/acme\/assets\/labels\?ids=/);
  const html = await page.request.get((await labels.getAttribute('href'))!);
  expect(html.status()).toBe(200);
  expect(await html.text()).toContain(`${u}-12`);
  const exportHref = (await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'))!;
  expect(exportHref).toContain(`q=${u}`);
  const csv = await (await page.request.get(exportHref)).text();
  expect(csv.trim().split('\n')).toHaveLength(made + 1);

  // Filters go in the address too, and narrow the same search.
  await page.getByText('Filters', { exact: true }).click();
  await page.getByRole('combobox', { name: 'Model', exact: true }).selectOption({ label: `Phone ${u}` });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(new RegExp(`model_id=${model}`));
  await expect(page.getByRole('status').filter({ hasText: 'assets' })).toContainText(`${made} assets match`);
  await page.getByRole('combobox', { name: 'Checked out to' }).selectOption('location');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/holder_type=location/);
  await expect(page.getByRole('status').filter({ hasText: 'assets' })).toContainText('0 assets match');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).not.toHaveURL(/model_id=/);
});
