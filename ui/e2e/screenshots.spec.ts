// The README's pictures of the console, made by the suite itself: with
// QM_SCREENSHOTS set to a folder (make screenshots), this journey signs in
// as the demo admin and photographs the dashboard, the asset list and the
// live fleet map once each shows its data.
import { demo, expect, signedIn, test } from './fixtures';

const dir = process.env.QM_SCREENSHOTS;

test.describe('screenshots', () => {
  test.skip(!dir, 'QM_SCREENSHOTS names no folder');
  test.use({ viewport: { width: 1280, height: 800 } });

  test('the demo admin’s console, for the README', async ({ page }, info) => {
    test.skip(info.project.name !== 'sqlite', 'one engine is enough for pictures');
    await signedIn(page, demo.acmeAdmin);
    await page.goto('/t/acme');
    await expect(page.getByRole('heading', { level: 1, name: 'Acme Corp' })).toBeVisible();
    await expect(page.locator('main [aria-busy="true"]')).toHaveCount(0);
    await page.screenshot({ path: `${dir}/console-dashboard.png` });

    await page.goto('/t/acme/assets');
    await expect(page.getByRole('table').getByRole('row').nth(20)).toBeVisible();
    await page.screenshot({ path: `${dir}/console-assets.png` });

    await page.goto('/t/acme/fleet');
    await expect(page.getByText('Map shows 3 vehicles.')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByRole('region', { name: 'Fleet map' }).locator('canvas')).toBeVisible();
    await page.screenshot({ path: `${dir}/console-fleet.png` });
  });
});
