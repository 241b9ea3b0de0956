import { defineConfig, type Project } from '@playwright/test';

// The journeys run against servers that ui/console_test.go (go test)
// starts: one on SQLite (QM_SQLITE_URL) and one on PostgreSQL
// (QM_POSTGRES_URL), each with the demo data. Each engine is a project.
// The console's own journeys (tagged @journey: a person's whole task,
// through storage, as the console's issue lists them) run on both; the
// rest, which check pages and forms that no engine changes
// (accessibility, phone width, every control) and the journeys of later
// features (alerts, plans, usage, trips), run on the first only. Storage
// itself is proven on every engine and tier by the Go suites.
// The journeys tagged @pmtiles draw the base map from a PMTiles file, on a
// server of their own (QM_PMTILES_URL, on SQLite) and on it alone.
const engines: Project[] = [];
for (const [name, url] of [
  ['sqlite', process.env.QM_SQLITE_URL],
  ['postgres', process.env.QM_POSTGRES_URL],
] as const) {
  if (!url) continue;
  const first = engines.length === 0;
  engines.push({ name, use: { baseURL: url }, metadata: { pageChecks: first }, grep: first ? undefined : /@journey/, grepInvert: /@pmtiles/ });
}
if (engines.length === 0) {
  throw new Error('set QM_SQLITE_URL and/or QM_POSTGRES_URL to a running server (go test ./ui starts them)');
}
if (process.env.QM_PMTILES_URL) {
  engines.push({ name: 'pmtiles', use: { baseURL: process.env.QM_PMTILES_URL }, metadata: { pageChecks: false }, grep: /@pmtiles/ });
}

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: true,
  // A journey waits for conditions (expect polls); these bounds only end a
  // journey that would otherwise never end.
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.QM_CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        // Nothing past this machine: every request but to the loopback
        // (which Chromium never proxies) goes to a port where nothing
        // listens, and fails; the guard in e2e/fixtures.ts reports it.
        '--proxy-server=127.0.0.1:9',
        ...(process.env.QM_CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean),
      ],
    },
  },
  projects: engines,
});
