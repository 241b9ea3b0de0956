// The base map from the PMTiles file the server was started with
// (serve --map-pmtiles; ui/pmtiles_test.go writes it): one tile of the
// whole world, land in the style's `earth` layer over all of it and sea in
// its `water` layer over the southern half.
import type { Locator } from '@playwright/test';
import { demo, expect, signedIn, test } from './fixtures';

/** The colours of the console's base map (src/pages/fleet/map.ts). */
const land = [0xf5, 0xf3, 0xee];
const sea = [0xdb, 0xe8, 0xf3];

/**
 * The colour the map shows at a place, from a screenshot of its canvas
 * (a WebGL canvas cannot be read back once drawn), at zoom 1 around
 * longitude 10°, latitude 30°, where the fleet map opens with no vehicle
 * to fit.
 */
async function colourAt(canvas: Locator, lon: number, lat: number): Promise<number[]> {
  const png = (await canvas.screenshot()).toString('base64');
  return canvas.evaluate(
    async (c, { png, lon, lat }) => {
      const world = 1024; // pixels around the world at zoom 1 (512-pixel tiles)
      const mercator = (lat: number) => 0.5 - Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)) / (2 * Math.PI);
      const x = Math.round(c.clientWidth / 2 + ((lon - 10) / 360) * world);
      const y = Math.round(c.clientHeight / 2 + (mercator(lat) - mercator(30)) * world);
      const bytes = Uint8Array.from(atob(png), (ch) => ch.charCodeAt(0));
      const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const ctx = new OffscreenCanvas(image.width, image.height).getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      return Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
    },
    { png, lon, lat },
  );
}

/** Whether two colours are the same but for rounding. */
function near(a: number[], b: number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) <= 3);
}

test('the fleet map draws its base map from the server’s PMTiles file, read by ranges', { tag: '@pmtiles' }, async ({ page }) => {
  const ranges: number[] = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/map/tiles.pmtiles') ranges.push(r.status());
  });
  await signedIn(page, demo.acmeAdmin);
  await page.goto('/t/acme/fleet');
  await expect(page.getByText('Map shows 0 vehicles.')).toBeVisible({ timeout: 60_000 });
  const canvas = page.getByRole('region', { name: 'Fleet map' }).locator('canvas');

  // Mid-Atlantic: the tile's land, where the bundled outlines have sea; the
  // South Atlantic: the tile's water over its land.
  await expect.poll(() => colourAt(canvas, -30, 30).then((c) => near(c, land)), { message: 'earth drawn at 30°W 30°N' }).toBe(true);
  await expect.poll(() => colourAt(canvas, -30, -20).then((c) => near(c, sea)), { message: 'water drawn at 30°W 20°S' }).toBe(true);
  // Every read of the archive was a range: the header and root directory,
  // the tile.
  expect(ranges.length).toBeGreaterThanOrEqual(2);
  expect(ranges.every((s) => s === 206), `statuses ${ranges.join(', ')}`).toBe(true);
});
