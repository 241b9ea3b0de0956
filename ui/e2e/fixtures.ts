// What the journeys share: signing in, the demo accounts, an accessibility
// check with axe-core, and a watch for Content-Security-Policy violations
// and requests that leave the server.
import { expect, test as base, type Cookie, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const demoPassword = 'quartermaster-demo';
export const demo = {
  operator: 'operator@example.com',
  acmeAdmin: 'admin@acme.example',
  acmeViewer: 'viewer@acme.example',
  globexAdmin: 'admin@globex.example',
};

// Evaluated through the DevTools protocol, which the page's CSP does not
// govern (a script tag would be inline script, which it refuses).
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Signs in through the form and waits for the page the console lands on:
 * for the journeys about signing in and out. The others start signed in
 * (signedIn).
 */
export async function signIn(page: Page, email: string, password = demoPassword): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

/**
 * The session cookie of each demo account a worker has signed in, by
 * server and account. A worker is one process that runs its journeys one
 * after another, so an account signs in once a worker and its later
 * journeys share the session; none ends it (the journey that signs out
 * signs in through the form, a session of its own).
 */
const sessions = new Map<string, Cookie[]>();

/**
 * Gives the page's browser the account's session, signed in through the
 * API the first time this worker asks for it; the page stays where it is
 * (blank, for a new one) until the journey opens one.
 */
export async function signedIn(page: Page, email: string): Promise<void> {
  const key = `${test.info().project.use.baseURL} ${email}`;
  const kept = sessions.get(key);
  if (kept) return page.context().addCookies(kept);
  const login = await page.request.post('/api/v1/auth/login', { data: { email, password: demoPassword } });
  expect(login.status(), await login.text()).toBe(200);
  sessions.set(key, await page.context().cookies());
}

/**
 * Whether this project runs the checks of pages as such (accessibility,
 * layout): the pages are the same whatever engine serves them, so one
 * engine's project runs them (playwright.config.ts).
 */
export function pageChecks(): boolean {
  return test.info().project.metadata.pageChecks === true;
}

/**
 * Fails on serious or critical accessibility violations (axe-core) of the
 * page as it is now. pages.spec.ts checks every page as it opens; a
 * journey checks only what that walk does not reach: a dialog open, the
 * server's messages beside their fields, a secret shown once, a refusal,
 * a map or report drawn, the shell at desktop width.
 */
export async function expectAccessible(page: Page): Promise<void> {
  if (!pageChecks()) return;
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: object) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const r = await axe.run({ resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `accessibility violations on ${page.url()}`).toEqual([]);
}

/**
 * Every journey fails on a Content-Security-Policy violation and on any
 * request to anything but the server under test. The browser cannot reach
 * beyond this machine (its proxy is a dead port: playwright.config.ts);
 * the guard watches requests rather than routing them, since a route
 * would hold every request up and turn the browser's cache off.
 */
export const test = base.extend<{ guard: void }>({
  guard: [
    async ({ page, baseURL }, use) => {
      const problems: string[] = [];
      const origin = new URL(baseURL!).origin;
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
      });
      page.on('request', (r) => {
        const url = new URL(r.url());
        if (url.origin !== origin && url.protocol !== 'data:' && url.protocol !== 'blob:') problems.push(`request outside the server: ${url.href}`);
      });
      await use();
      expect(problems).toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
