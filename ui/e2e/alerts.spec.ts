// Alerting: the admin sets up where alarms go (a webhook whose secret is
// shown once, an e-mail channel), a geofence and a rule the simulated
// vehicles meet, then handles the alarms it raises; the viewer sees the
// alarms and rules but changes nothing, and the API refuses it too.
import type { Page } from '@playwright/test';
import { raiseAlarm } from './alarms';
import { API, asAdmin, unique } from './assets-helpers';
import { demo, expect, expectAccessible, signedIn, test } from './fixtures';

/** Adds an entry through a list page's form and waits for the page to say so. */
async function add(page: Page, button: string, name: string): Promise<void> {
  await page.getByRole('button', { name: button }).click();
  await expect(page.getByRole('status').filter({ hasText: `Added ${name}.` })).toBeVisible();
}

test('the admin routes alarms to channels and handles them', async ({ page }) => {
  test.setTimeout(240_000);
  const u = unique('alert');
  const hook = `Hook ${u}`;
  const mail = `Mail ${u}`;
  const fence = `Depot ${u}`;
  const rule = `Battery ${u}`;
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme');

  // A webhook: its signing secret is shown this once.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notification channels' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Notification channels' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(hook);
  await page.getByLabel('Kind').selectOption({ label: 'Webhook' });
  await page.getByLabel('URL').fill(`https://hooks.example.com/${u}`);
  await add(page, 'Add channel', hook);
  const secret = page.getByLabel(`Signing secret of ${hook}`);
  await expect(secret).toHaveValue(/\S{16,}/);
  await expect(secret).toHaveAccessibleDescription(/not shown again/);
  await page.reload();
  await expect(page.getByRole('link', { name: hook })).toBeVisible();
  await expect(page.getByLabel(`Signing secret of ${hook}`)).toHaveCount(0);

  // An e-mail channel; a bad address is the server's to point out, beside the addresses.
  await page.getByLabel('Name', { exact: true }).fill(mail);
  await page.getByLabel('Kind').selectOption({ label: 'E-mail' });
  const emails = page.getByLabel('E-mail addresses, one a line');
  await emails.fill('not an address');
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(emails).toHaveAccessibleDescription(/is not an e-mail address/);
  await emails.fill(`ops-${u}@example.com`);
  await add(page, 'Add channel', mail);
  await expect(page.getByRole('row').filter({ hasText: mail })).toContainText(`ops-${u}@example.com`);
  await expect(page.getByLabel(/^Signing secret/)).toHaveCount(0);

  // The webhook's page has its delivery log.
  await page.getByRole('link', { name: hook }).click();
  await expect(page.getByRole('heading', { level: 1, name: hook })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: /deliver(y|ies)$/ })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Deliveries' })).toBeVisible();

  // The e-mail channel's test goes at once; with no mail server set, it
  // fails saying so, and the log keeps it, marked as a test.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notification channels' }).click();
  await page.getByRole('link', { name: mail }).click();
  await page.getByRole('button', { name: 'Send a test' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The test failed: no mail server' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Deliveries' }).getByRole('row').filter({ hasText: '(test)' })).toHaveCount(1);

  // A geofence: a circle from its centre and radius.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Geofences' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Geofences' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(fence);
  await page.getByLabel('Latitude').fill('52.52');
  await page.getByLabel('Longitude').fill('13.405');
  await page.getByLabel('Radius (m)').fill('250');
  await add(page, 'Add geofence', fence);
  await expect(page.getByRole('row').filter({ hasText: fence })).toContainText('Circle of 250 m');

  // A rule: the form follows the kind, and the server's messages show beside the fields.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alarm rules' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Alarm rules' })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill(rule);
  await page.getByLabel('Kind').selectOption({ label: 'Inside or outside a geofence' });
  await expect(page.getByLabel('Geofence', { exact: true }).getByRole('option', { name: fence })).toHaveCount(1);
  await expect(page.getByLabel('Speed limit (km/h)')).toHaveCount(0);
  await page.getByLabel('Kind').selectOption({ label: 'Speed over a limit' });
  await expect(page.getByLabel('Geofence', { exact: true })).toHaveCount(0);
  const speed = page.getByLabel('Speed limit (km/h)');
  await speed.fill('0');
  await page.getByRole('button', { name: 'Add rule' }).click();
  await expect(speed).toHaveAccessibleDescription(/speed_kmh must be above 0/);
  await expect(speed).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page);

  // A metric every simulated vehicle meets, sent to both channels.
  await page.getByLabel('Kind').selectOption({ label: 'Metric compared with a value' });
  await page.getByLabel('Severity').selectOption({ label: 'Major' });
  await page.getByLabel('Metric', { exact: true }).fill('battery_v');
  await page.getByLabel('Comparison', { exact: true }).selectOption('>');
  await page.getByLabel('Value', { exact: true }).fill('0');
  await page.getByLabel('For at least (seconds)').fill('0');
  await page.getByLabel(hook).check();
  await page.getByLabel(mail).check();
  await add(page, 'Add rule', rule);
  const ruleRow = page.getByRole('row').filter({ hasText: rule });
  await expect(ruleRow).toContainText('battery_v > 0');
  await expect(ruleRow).toContainText(hook);
  await expect(ruleRow).toContainText(mail);

  // Its alarms appear on the alarm page (which reads the list again by itself).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alarms' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Alarms' })).toBeVisible();
  await page.getByLabel('Severity').selectOption({ label: 'Major' });
  await expect(page).toHaveURL(/severity=major/);
  await page.getByLabel('Open only').check();
  await expect(page).toHaveURL(/open=true/);
  const alarms = page.getByRole('row').filter({ hasText: rule });
  await expect(alarms.first()).toBeVisible({ timeout: 60_000 });
  await expect(alarms.first()).toContainText('major');
  await expect(alarms.first()).toContainText('Open');

  // One vehicle's alarm: the row names the vehicle and links to its page (and to the alarm's).
  const vehicle = await alarms.first().getByRole('link').filter({ hasNotText: rule }).innerText();
  const alarm = alarms.filter({ has: page.getByRole('link', { name: vehicle, exact: true }) });
  await alarm.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(alarm).toContainText(/Acknowledged by \S+/);
  await expect(alarm.getByRole('button', { name: 'Acknowledge' })).toHaveCount(0);
  await expect(page.getByRole('status').filter({ hasText: `Acknowledged ${rule} on ${vehicle}.` })).toBeVisible();

  // Cleared, it leaves the open alarms; all alarms show it cleared.
  await alarm.getByRole('button', { name: 'Clear' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Cleared ${rule} on ${vehicle}.` })).toBeVisible();
  await page.getByLabel('Open only').uncheck();
  await expect(page).not.toHaveURL(/open=/);
  await expect(alarm).toContainText('Cleared');
  await expect(alarm.getByRole('button')).toHaveCount(0);
  await alarm.getByRole('link', { name: vehicle, exact: true }).click();
  await expect(page).toHaveURL(/\/t\/acme\/devices\/[^/]+$/);
  await expect(page.locator('#main').getByText(vehicle).first()).toBeVisible();

  // The rule goes, and its geofence after it.
  await page.goto('/t/acme/rules');
  await page.getByRole('button', { name: `Delete ${rule}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${rule}.` })).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: rule })).toHaveCount(0);
  await page.goto('/t/acme/geofences');
  await page.getByRole('button', { name: `Delete ${fence}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${fence}.` })).toBeVisible();
});

test('the viewer sees alarms and rules but changes nothing', async ({ page, playwright, baseURL }) => {
  const u = unique('seen');
  const rule = `Idle ${u}`;
  const made = await asAdmin(playwright, baseURL, async (api) => {
    const ch = await api.must<{ channel: { id: string } }>('POST', '/notification-channels', {
      name: `Desk ${u}`,
      kind: 'email',
      enabled: true,
      emails: [`desk-${u}@example.com`],
    });
    const r = await api.must<{ id: string }>('POST', '/rules', {
      name: rule,
      kind: 'ignition',
      severity: 'info',
      enabled: false,
      trigger: 'off',
      channel_ids: [ch.channel.id],
    });
    return { rule: r.id, channel: ch.channel.id };
  });

  await signedIn(page, demo.acmeViewer);
  await page.goto('/t/acme');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Alarms', 'Alarm rules', 'Geofences', 'Notification channels']) await expect(nav.getByRole('link', { name })).toBeVisible();

  await nav.getByRole('link', { name: 'Alarms' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Alarms' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /\d+ alarms?/ })).toBeVisible();
  await expect(page.getByRole('button', { name: /^(Acknowledge|Clear)/ })).toHaveCount(0);

  await nav.getByRole('link', { name: 'Alarm rules' }).click();
  const row = page.getByRole('row').filter({ hasText: rule });
  await expect(row).toContainText('ignition off');
  await expect(row).toContainText(`Desk ${u}`);
  await expect(page.getByRole('button', { name: /^(Add rule|Edit|Delete)/ })).toHaveCount(0);
  await expect(page.getByLabel('Name', { exact: true })).toHaveCount(0);

  await nav.getByRole('link', { name: 'Notification channels' }).click();
  await expect(page.getByRole('link', { name: `Desk ${u}` })).toBeVisible();
  await expect(page.getByRole('button', { name: /^(Add channel|Edit|Delete)/ })).toHaveCount(0);
  await nav.getByRole('link', { name: 'Geofences' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Geofences' })).toBeVisible();
  await expect(page.getByRole('button', { name: /^(Add geofence|Edit|Delete)/ })).toHaveCount(0);

  // The API refuses the viewer's changes, with its own CSRF token.
  const viewer = await API.of(page);
  const definition = { name: `Sneaky ${u}`, kind: 'ignition', severity: 'info', enabled: true, trigger: 'on' };
  expect((await viewer.send('POST', '/rules', definition)).status).toBe(403);
  expect((await viewer.send('PUT', `/rules/${made.rule}`, definition)).status).toBe(403);
  expect((await viewer.send('DELETE', `/rules/${made.rule}`)).status).toBe(403);
  expect((await viewer.send('POST', '/notification-channels', { name: `Sneaky ${u}`, kind: 'webhook', enabled: true, url: 'https://example.com/' })).status).toBe(403);
  expect((await viewer.send('DELETE', `/notification-channels/${made.channel}`)).status).toBe(403);
  const shape = { type: 'Feature', geometry: { type: 'Point', coordinates: [13.4, 52.5] }, properties: { radius_m: 10 } };
  expect((await viewer.send('POST', '/geofences', { name: `Sneaky ${u}`, shape })).status).toBe(403);
  const { alarms } = await viewer.get<{ alarms: { id: string }[] }>('/alarms?limit=1');
  const alarm = alarms[0]?.id ?? 'no-such-alarm';
  expect((await viewer.send('POST', `/alarms/${alarm}/acknowledge`)).status).toBe(403);
  expect((await viewer.send('POST', `/alarms/${alarm}/clear`)).status).toBe(403);
});

test('the admin changes a rule and a channel', async ({ page, playwright, baseURL }) => {
  const u = unique('changed');
  const rule = `Slow ${u}`;
  const channel = `Pager ${u}`;
  await asAdmin(playwright, baseURL, async (api) => {
    await api.must('POST', '/notification-channels', { name: channel, kind: 'webhook', enabled: true, url: `https://hooks.example.com/${u}` });
    await api.must('POST', '/rules', { name: rule, kind: 'speed', severity: 'minor', enabled: false, speed_kmh: 90, for_s: 30 });
  });
  await signedIn(page, demo.acmeAdmin);

  // The form opens with the rule's values, its kind's fields alone.
  await page.goto('/t/acme/rules');
  await expect(page.getByRole('row').filter({ hasText: rule })).toContainText('speed over 90 km/h for 30 s');
  await page.getByRole('button', { name: `Edit ${rule}` }).click();
  await expect(page.getByRole('heading', { name: `Edit rule “${rule}”` })).toBeVisible();
  await expect(page.getByLabel('Speed limit (km/h)')).toHaveValue('90');
  await expect(page.getByLabel('Enabled')).not.toBeChecked();
  await expect(page.getByLabel('Metric', { exact: true })).toHaveCount(0);
  await page.getByLabel('Speed limit (km/h)').fill('110');
  await page.getByLabel(channel).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved ${rule}.` })).toBeVisible();
  const row = page.getByRole('row').filter({ hasText: rule });
  await expect(row).toContainText('speed over 110 km/h for 30 s');
  await expect(row).toContainText(channel);

  // A webhook turned off.
  await page.goto('/t/acme/notification-channels');
  await page.getByRole('button', { name: `Edit ${channel}` }).click();
  await expect(page.getByLabel('URL')).toHaveValue(`https://hooks.example.com/${u}`);
  await page.getByLabel('Enabled').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved ${channel}.` })).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: channel })).toContainText('Disabled');
  await expect(page.getByLabel(/^Signing secret/)).toHaveCount(0);
});

/** The geofence map's canvas, once it has drawn, and its centre in the page. */
async function geofenceCanvas(page: Page) {
  await expect(page.getByRole('status').filter({ hasText: /Map shows \d+ geofences?\./ })).toBeVisible({ timeout: 60_000 });
  const canvas = page.getByRole('region', { name: 'Geofence map' }).locator('canvas');
  const box = await canvas.boundingBox();
  expect(box).not.toBeNull();
  return { canvas, x: box!.width / 2, y: box!.height / 2, pageX: box!.x + box!.width / 2, pageY: box!.y + box!.height / 2 };
}

type Shape = { geometry: { type: string; coordinates: unknown[] }; properties?: { radius_m?: number } | null };

/** A geofence as the API answers it, by name. */
async function geofenceNamed(api: API, name: string): Promise<{ id: string; shape: Shape }> {
  const { geofences } = await api.get<{ geofences: { id: string; name: string; shape: Shape }[] }>('/geofences?limit=1000');
  const g = geofences.find((x) => x.name === name);
  expect(g, `geofence ${name}`).toBeTruthy();
  return g!;
}

test('a polygon geofence is drawn on the map a point at a time', async ({ page }) => {
  const fence = `Drawn ${unique('poly')}`;
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/geofences');
  await page.getByLabel('Name', { exact: true }).fill(fence);
  await page.getByLabel('Polygon').check();
  const map = await geofenceCanvas(page);
  const drawing = page.getByRole('status').filter({ hasText: /Drawing:/ });
  await expect(drawing).toContainText('Drawing: 0 points');

  // Five clicks, one of them undone, then the first point again closes it.
  const corners = [
    [-90, -60],
    [70, -70],
    [100, 40],
    [10, 90],
    [-80, 50],
  ];
  for (const [dx, dy] of corners) await map.canvas.click({ position: { x: map.x + dx!, y: map.y + dy! } });
  await map.canvas.click({ position: { x: map.x - 30, y: map.y + 100 } });
  await expect(drawing).toContainText('Drawing: 6 points');
  await page.getByRole('button', { name: 'Undo last point' }).click();
  await expect(drawing).toContainText('Drawing: 5 points');
  const points = page.getByLabel('Points, one a line: latitude, longitude');
  await expect(points).toHaveValue(/^([-\d.]+, [-\d.]+\n){4}[-\d.]+, [-\d.]+$/);
  await map.canvas.click({ position: { x: map.x + corners[0]![0]!, y: map.y + corners[0]![1]! } });
  await expect(page.getByRole('status').filter({ hasText: 'Polygon of 5 points.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Finish' })).toBeDisabled();
  await expectAccessible(page);

  // A point dragged moves its line of the points, and only it.
  const drawnLines = (await points.inputValue()).split('\n');
  await page.mouse.move(map.pageX + corners[2]![0]!, map.pageY + corners[2]![1]!);
  await page.mouse.down();
  await page.mouse.move(map.pageX + corners[2]![0]! + 30, map.pageY + corners[2]![1]! + 20, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => (await points.inputValue()).split('\n')[2], { message: 'the third point moves' }).not.toBe(drawnLines[2]);
  expect((await points.inputValue()).split('\n').filter((line, i) => line !== drawnLines[i])).toHaveLength(1);
  await add(page, 'Add geofence', fence);
  await expect(page.getByRole('row').filter({ hasText: fence })).toContainText('Polygon with 5 points');

  // The API holds a Polygon whose ring closes on its first point.
  const g = await geofenceNamed(await API.of(page), fence);
  expect(g.shape.geometry.type).toBe('Polygon');
  const ring = g.shape.geometry.coordinates[0] as number[][];
  expect(ring).toHaveLength(6);
  expect(ring[5]).toEqual(ring[0]);

  // Changed: the points typed replace those drawn.
  await page.getByRole('button', { name: `Edit ${fence}` }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Polygon of 5 points.' })).toBeVisible();
  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(drawing).toContainText('Drawing: 0 points');
  await points.fill('52.50, 13.40\n52.51, 13.40\n52.51, 13.42\n52.50, 13.42');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved ${fence}.` })).toBeVisible();
  const typed = await geofenceNamed(await API.of(page), fence);
  expect(typed.shape.geometry.coordinates).toEqual([
    [
      [13.4, 52.5],
      [13.4, 52.51],
      [13.42, 52.51],
      [13.42, 52.5],
      [13.4, 52.5],
    ],
  ]);
});

test('a circle geofence a rule watches cannot be deleted; it is moved by dragging its centre, and its radius typed', async ({ page, playwright, baseURL }) => {
  const u = unique('circle');
  const fence = `Yard ${u}`;
  await asAdmin(playwright, baseURL, async (api) => {
    const shape = { type: 'Feature', geometry: { type: 'Point', coordinates: [13.4, 52.5] }, properties: { radius_m: 300 } };
    const g = await api.must<{ id: string }>('POST', '/geofences', { name: fence, shape });
    await api.must('POST', '/rules', { name: `Leaves ${u}`, kind: 'geofence', severity: 'info', enabled: false, geofence_id: g.id, trigger: 'exit' });
  });
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/geofences');
  await page.getByRole('button', { name: `Delete ${fence}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('alert')).toContainText(/rule/i);
  await expect(page.getByRole('row').filter({ hasText: fence })).toBeVisible();

  // Editing a circle shows its centre and radius.
  await page.getByRole('button', { name: `Edit ${fence}` }).click();
  await expect(page.getByLabel('Latitude')).toHaveValue('52.5');
  await expect(page.getByLabel('Radius (m)')).toHaveValue('300');

  // The map shows the circle in its middle: its centre is dragged south-east.
  const map = await geofenceCanvas(page);
  await page.mouse.move(map.pageX, map.pageY);
  await page.mouse.down();
  await page.mouse.move(map.pageX + 80, map.pageY + 40, { steps: 8 });
  await page.mouse.up();
  const lat = page.getByLabel('Latitude');
  const lon = page.getByLabel('Longitude');
  await expect.poll(async () => Number(await lat.inputValue()), { message: 'the centre moves south' }).toBeLessThan(52.5);
  await expect.poll(async () => Number(await lon.inputValue()), { message: 'the centre moves east' }).toBeGreaterThan(13.4);
  const moved = [Number(await lon.inputValue()), Number(await lat.inputValue())];
  await page.getByLabel('Radius (m)').fill('450');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Saved ${fence}.` })).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: fence })).toContainText('Circle of 450 m');

  const g = await geofenceNamed(await API.of(page), fence);
  expect(g.shape.geometry).toEqual({ type: 'Point', coordinates: moved });
  expect(g.shape.properties?.radius_m).toBe(450);
});

test('an alarm’s page shows its facts, acknowledges and clears it, and lists its events', async ({ page, playwright, baseURL }) => {
  const rule = `Paged ${unique('alarm')}`;
  const made = await asAdmin(playwright, baseURL, (api) => raiseAlarm(api, rule, 'demo-acme-3', 'major'));
  await signedIn(page, demo.acmeAdmin);

  // The alarm list links to it.
  await page.goto('/t/acme/alarms?open=true&severity=major');
  await page.getByRole('link', { name: `Alarm ${rule} on ${made.name}` }).click();
  await expect(page).toHaveURL(new RegExp(`/t/acme/alarms/${made.alarm}$`));
  await expect(page.getByRole('heading', { level: 1, name: `${rule} on ${made.name}` })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: 'major' })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: /^Open$/ })).toBeVisible();
  const events = page.getByRole('region', { name: 'Events' });
  await expect(events.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Raised', exact: true }) })).toContainText('the rule');

  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Acknowledged.' })).toBeVisible();
  await expect(page.getByRole('definition').filter({ hasText: /^by \S+/ })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Acknowledge' })).toHaveCount(0);
  const acknowledged = events.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Acknowledged', exact: true }) });
  await expect(acknowledged).toHaveCount(1);
  await expect(acknowledged).not.toContainText('the rule');

  await page.getByRole('button', { name: 'Clear' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Cleared.' })).toBeVisible();
  await expect(events.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Cleared', exact: true }) })).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Clear' })).toHaveCount(0);

  // Its subject's link leads to the vehicle.
  await page.getByRole('link', { name: made.name, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/t/acme/devices/${made.device}$`));

  await page.goto('/t/acme/alarms/no-such-alarm');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('the bell counts unread alarm events, and marking them read lowers the count', async ({ page, playwright, baseURL }) => {
  const u = unique('bell');
  await asAdmin(playwright, baseURL, (api) => Promise.all([raiseAlarm(api, `Rung ${u}`, 'demo-acme-1', 'minor'), raiseAlarm(api, `Rang ${u}`, 'demo-acme-2', 'info')]));
  // The viewer's reading is this journey's alone.
  await signedIn(page, demo.acmeViewer);
  await page.goto('/t/acme');
  const bell = page.getByRole('button', { name: /^Notifications: \d+ unread$/ });
  const count = async () => Number(/(\d+) unread/.exec((await bell.getAttribute('aria-label')) ?? '')?.[1] ?? NaN);
  await expect.poll(count, { message: 'the raised alarms are unread' }).toBeGreaterThan(1);

  await bell.click();
  const panel = page.getByRole('dialog', { name: /\d+ unread/ });
  await expect(panel).toBeVisible();
  await expect(panel).toBeFocused();
  await expect(panel.getByRole('listitem').nth(1)).toBeVisible();
  await expectAccessible(page);

  // Escape closes it, and the bell has the focus again.
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  await expect(bell).toBeFocused();

  // An event links to its alarm; following it closes the panel.
  await page.keyboard.press('Enter');
  await expect(panel).toBeVisible();
  await panel.getByRole('listitem').first().getByRole('link').click();
  await expect(page).toHaveURL(/\/t\/acme\/alarms\/[^/]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(panel).toBeHidden();

  // Marking the oldest event listed read marks those before it too, but not the newer.
  const before = await count();
  await bell.click();
  await panel.getByRole('button', { name: /^Mark read: / }).last().click();
  await expect.poll(count, { message: 'the count drops after marking one read' }).toBeLessThan(before);
  const some = await count();
  expect(some).toBeGreaterThan(0);
  await panel.getByRole('button', { name: 'Mark all read' }).click();
  await expect.poll(count, { message: 'the count drops after marking all read' }).toBeLessThan(some);
});
