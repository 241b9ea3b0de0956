// Figures for the console, reported (never asserted in tests):
//   1. JavaScript and CSS shipped on first load, gzipped as served;
//   2. time from navigation to the first 50 rows of a 100,000-asset list;
//   3. live-map latency from a point's commit to its vehicle moving.
// Usage (from ui/, after make build): node scripts/measure.mjs [--runs 20]
// It starts its own server on a free port with fresh SQLite storage.
import { chromium } from '@playwright/test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../../bin/quartermaster', import.meta.url).pathname;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 20);
const data = mkdtempSync(join(tmpdir(), 'qm-measure-'));
const storage = ['--data-dir', data];
const cli = (...args) => execFileSync(bin, [...args, ...storage], { encoding: 'utf8' });

cli('demo');
cli('tenant', 'create', '--slug', 'bench', '--name', 'Bench');
const rows = ['Asset Tag,Name,Model,Category,Serial'];
for (let i = 1; i <= 100_000; i++) {
  rows.push(`B-${String(i).padStart(6, '0')},Laptop ${i},Model ${i % 40},Category ${i % 12},SN${i}`);
}
const csv = join(data, 'bench.csv');
writeFileSync(csv, rows.join('\n') + '\n');
cli('assets', 'import', '--tenant', 'bench', csv);
const invite = cli('tenant', 'invite', 'bench', '--email', 'bench@example.com', '--role', 'admin').match(/\/invite\/(\S+)/)[1];
const ident = 'measure-1';
const deviceToken = cli('device', 'register', '--ident', ident).match(/qmd_\S+/)[0];
cli('device', 'assign', ident, '--tenant', 'acme');

const server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--mqtt-addr', '', '--osmand-addr', '', '--simulate', 'acme:3', ...storage]);
const base = await new Promise((resolve, reject) => {
  let log = '';
  server.stderr.on('data', (b) => {
    log += b;
    const m = log.match(/msg=listening listener=api addr=(\S+)/);
    if (m) resolve(`http://${m[1]}`);
  });
  server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
});
await fetch(`${base}/api/v1/invitations/${invite}/accept`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ name: 'Bench', password: 'bench-password-1' }),
});

const browser = await chromium.launch({
  executablePath: process.env.QM_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
async function signedIn(email, password) {
  const context = await browser.newContext({ baseURL: base });
  const r = await context.request.post('/api/v1/auth/login', { data: { email, password } });
  if (!r.ok()) throw new Error(`sign-in as ${email}: ${r.status()}`);
  return context;
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// 1. First load: every script and stylesheet the page fetched, as encoded on the wire.
for (const [who, path] of [['signed out', '/login'], ['demo admin', '/t/acme']]) {
  const context = who === 'signed out' ? await browser.newContext({ baseURL: base }) : await signedIn('admin@acme.example', 'quartermaster-demo');
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', async (req) => {
    if (['script', 'stylesheet'].includes(req.resourceType())) sizes.push((await req.sizes()).responseBodySize);
  });
  await page.goto(path, { waitUntil: 'networkidle' });
  console.log(`first load of ${path} (${who}): ${sizes.length} files, ${kb(sizes.reduce((a, b) => a + b, 0))} of JavaScript and CSS (gzipped)`);
  await context.close();
}

// 2. The 100,000-asset list: from navigating to its address (a reload, the
// app's files cached) to 50 rows on screen.
{
  const context = await signedIn('bench@example.com', 'bench-password-1');
  const page = await context.newPage();
  const times = [];
  for (let i = 0; i < runs; i++) {
    await page.goto('about:blank');
    const start = Date.now();
    await page.goto('/t/bench/assets', { waitUntil: 'commit' });
    await page.waitForFunction(() => document.querySelectorAll('main table tbody tr').length >= 50, null, { polling: 'raf' });
    times.push(Date.now() - start);
  }
  console.log(`100,000-asset list, navigation to 50 rows on screen: p50 ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms over ${runs} runs`);
  await context.close();
}

// 3. Live map: a point committed (ingest answered) to its vehicle moved on the open map.
{
  const context = await signedIn('admin@acme.example', 'quartermaster-demo');
  const page = await context.newPage();
  const send = async (lat) => {
    const res = await fetch(`${base}/ingest/v1/points`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${deviceToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ time: new Date().toISOString(), lat: Number(lat), lon: 20 }),
    });
    if (!res.ok) throw new Error(`ingest: ${res.status} ${await res.text()}`);
  };
  await send('10.00001');
  await page.goto('/t/acme/fleet');
  await page.getByText(ident).first().waitFor();
  await page.getByText('Live.').waitFor(); // the event stream is open
  const times = [];
  for (let i = 1; i <= runs; i++) {
    const lat = (10 + i / 1000 + 0.00001).toFixed(5);
    await send(lat); // answered once committed
    const start = Date.now();
    await page.waitForFunction((want) => document.body.innerText.includes(want), lat, { polling: 'raf' });
    times.push(Date.now() - start);
  }
  console.log(`live map, commit to vehicle moved: p50 ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms over ${runs} points`);
  await context.close();
}

await browser.close();
server.kill('SIGTERM');
