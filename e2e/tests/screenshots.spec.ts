// The README's pictures of the page in use (the journey spec takes the
// first, screenshot.png): a run in progress with its chart, a result's
// details, and the phone layout in dark mode. A test run writes them under
// e2e/test-results/screenshots/ to be looked at; scripts/screenshots.sh
// writes them into docs/.
import { test, expect, Page } from '@playwright/test';
import { join } from 'node:path';
import { Emulator, SCREENSHOTS } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '300', '--jitter-ms', '80']);
});
test.afterAll(async () => emu?.stop());

const MODELS = 're_roomtype_global_v2,re_features_v4,re_logo';

/** Starts `count` sample images at 8/s and waits until `done` are done. */
async function runUntil(page: Page, count: number, done: number): Promise<PacerPage> {
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 8, models: MODELS });
  await pacer.loadSamples(count);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 20_000 }).toBeGreaterThanOrEqual(done);
  return pacer;
}

test('a run in progress, with its chart', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  const pacer = await runUntil(page, 120, 48);
  await expect(pacer.byId('run-state')).toHaveText('running');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENSHOTS, 'run-in-progress.png') });
  await pacer.byId('cancel').click();
});

test("a result's details", async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  const pacer = await runUntil(page, 12, 12);
  await pacer.waitForState('done');
  // An item whose logo detection drew a box, if any (else the first).
  const rows = pacer.byId('result-row');
  let chosen = 0;
  for (let i = 0; i < (await rows.count()); i++) {
    await rows.nth(i).click();
    if ((await page.locator('.detail .bbox').count()) > 0) {
      chosen = i;
      break;
    }
  }
  await rows.nth(chosen).click();
  const card = page.locator('.results-card');
  await expect(card.locator('.detail')).toBeVisible();
  await card.locator('.detail').scrollIntoViewIfNeeded();
  await card.screenshot({ path: join(SCREENSHOTS, 'result-details.png') });
});

test('the phone layout in dark mode', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 780 });
  await page.emulateMedia({ colorScheme: 'dark' });
  const pacer = await runUntil(page, 60, 20);
  await page.locator('.run-card').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(SCREENSHOTS, 'phone-dark.png') });
  await pacer.byId('cancel').click();
});
