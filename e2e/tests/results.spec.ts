// The results list: virtualised (a long run keeps only the rows in view in
// the page), filtered by state and text, sorted, and each item's details
// (every model's labels, every request, the raw JSON) on demand.
import { test, expect } from '@playwright/test';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const IMAGES = 1_000;
let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'none', '--latency-ms', '20', '--jitter-ms', '15']);
});
test.afterAll(async () => emu?.stop());

test('1 000 items: only rows in view are drawn; filter, sort and details work', async ({ page }) => {
  test.setTimeout(120_000);
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 150, concurrency: 6 });
  await pacer.loadSamples(IMAGES);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done')).toBeGreaterThan(100);
  // Mid-run, the page holds a screenful of rows, not a thousand.
  const drawn = await pacer.byId('result-row').count();
  expect(drawn).toBeGreaterThan(5);
  expect(drawn).toBeLessThan(60);
  await pacer.waitForState('done', 60_000);
  expect(await pacer.number('stat-done')).toBe(IMAGES);

  // Scrolled through, the list holds every item once, in input order, done.
  const rows = await pacer.allRows();
  expect(rows.map((r) => r.index)).toEqual(Array.from({ length: IMAGES }, (_, i) => i + 1));
  expect(rows.filter((r) => r.state !== 'done')).toEqual([]);
  expect(rows[IMAGES - 1].url).toBe(`${emu.url}/samples/img-1000.jpg`);
  expect(await pacer.byId('result-row').count()).toBeLessThan(60);

  // State filter: no item failed; every item is done.
  const results = page.locator('.results-card');
  await results.getByRole('button', { name: /^Failed/ }).click();
  await expect(results.getByText('No item matches the filter.')).toBeVisible();
  await results.getByRole('button', { name: /^Done/ }).click();
  await expect(results.getByText(`${IMAGES} of ${IMAGES} items`)).toHaveCount(0);
  await expect(results.getByText(`${IMAGES} items`, { exact: true })).toBeVisible();

  // Text filter: only items with that label remain, fewer than all.
  await results.getByRole('button', { name: /^All/ }).click();
  await results.getByRole('searchbox').fill('kitchen');
  const count = results.locator('.card-head .muted');
  await expect(count).toHaveText(/^\d+ of 1000 items$/);
  const matching = Number((await count.textContent())!.split(' ')[0]);
  expect(matching).toBeGreaterThan(0);
  expect(matching).toBeLessThan(IMAGES);
  for (const text of await pacer.byId('result-row').allTextContents()) expect(text.toLowerCase()).toContain('kitchen');
  await results.getByRole('searchbox').fill('');

  // Sort: slowest first, so the drawn rows' latencies never rise.
  await results.getByRole('combobox', { name: 'Sort by' }).selectOption('latency');
  const latencies = async () =>
    (await pacer.byId('result-row').locator('.col-latency').allTextContents()).map((t) => parseFloat(t));
  await expect.poll(async () => {
    const ms = await latencies();
    return ms.length > 5 && ms.every((v, i) => i === 0 || v <= ms[i - 1]);
  }).toBe(true);
  const slowest = await pacer.byId('result-row').first().locator('.url').textContent();

  // Details: the slowest item's every model, its one request, the raw JSON.
  await pacer.byId('result-row').first().press('Enter');
  const detail = page.getByRole('complementary', { name: /^Details of item \d+$/ });
  await expect(detail).toBeVisible();
  await expect(detail.locator('.detail-url')).toHaveText(slowest!);
  await expect(detail.locator('.detail-solution')).toHaveCount(2);
  await expect(detail.locator('.attempts tbody tr')).toHaveCount(1);
  await expect(detail.locator('.attempts tbody td').nth(1)).toHaveText('200');
  await detail.getByText('Raw JSON').click();
  const raw = JSON.parse((await detail.locator('pre').textContent())!);
  expect(Object.keys(raw.solutions).length).toBe(2);
  expect(raw.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  await detail.getByRole('button', { name: 'Close the details' }).click();
  await expect(detail).toHaveCount(0);
});
