// The run is saved in IndexedDB as it goes. A reload (or
// closing the tab and opening the page again) offers to resume; resuming
// sends only what had not succeeded; the saved state never holds the key.
import { test, expect, Page } from '@playwright/test';
import { Emulator, LogLine } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { storedText } from '../support/storage';

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', '8', '--latency-ms', '300']);
});
test.afterAll(async () => emu?.stop());

const KEY = 'sekret-key-7f3a9';


/** Images answered 200 more than once in `log`. */
function doubleSuccesses(log: LogLine[]): string[] {
  const seen = new Map<string, number>();
  for (const l of log) if (l.status === 200) seen.set(l.image, (seen.get(l.image) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([image]) => image);
}

test('a reload mid-run offers to resume, and resuming sends only what had not succeeded', async ({ page }) => {
  const before = emu.log().length;
  const pacer = new PacerPage(page);
  await pacer.open(emu.url, { rate: 8, concurrency: 6 });
  await pacer.byId('client-key').fill(KEY);
  await pacer.loadSamples(60);
  await pacer.byId('start').click();
  await expect.poll(() => pacer.number('stat-done'), { timeout: 15_000 }).toBeGreaterThanOrEqual(20);

  // What the browser keeps: the run and its items, never the key.
  const saved = await storedText(page);
  expect(saved).toContain('/samples/img-0001.jpg');
  expect(saved).toContain('"state":"done"');
  expect(saved).not.toContain(KEY);

  const reloadAt = Date.now();
  await page.reload();
  await pacer.waitForState('interrupted', 10_000);
  await expect(pacer.byId('notice')).toContainText('interrupted');
  const doneBefore = await pacer.number('stat-done');
  expect(doneBefore).toBeGreaterThanOrEqual(20);
  expect(doneBefore).toBeLessThan(60);
  await expect(pacer.byId('result-row')).toHaveCount(60);
  const restoredDone = page.locator('[data-testid="result-row"][data-state="done"]');
  await expect(restoredDone).toHaveCount(doneBefore);
  // Which images the page came back knowing as done.
  const knownDone = new Set(await restoredDone.locator('.url').allTextContents());
  expect(knownDone.size).toBe(doneBefore);
  // The key is not saved: after the reload the field holds the local
  // emulator's demo key, not the one typed before.
  await expect(pacer.byId('client-key')).not.toHaveValue(KEY);

  const resumedAt = Date.now();
  await pacer.byId('resume').click();
  await pacer.waitForState('done', 30_000);
  expect(await pacer.number('stat-done')).toBe(60);
  expect(await pacer.number('stat-failed')).toBe(0);
  await expect(page.locator('[data-testid="result-row"][data-state="done"]')).toHaveCount(60);

  const log = emu.log().slice(before);
  const images = new Set(log.filter((l) => l.status === 200).map((l) => l.image));
  expect(images.size).toBe(60);
  // Nothing the page knew had succeeded was sent again...
  const resent = log.filter((l) => l.arrival_ms >= resumedAt);
  expect(resent.filter((l) => knownDone.has(l.image))).toEqual([]);
  expect(resent.filter((l) => l.status === 200)).toHaveLength(60 - doneBefore);
  // ...and an image answered twice can only be one whose first answer was
  // still on its way when the reload came: the page, going away, never
  // read it (at most one per fetch task).
  const twice = doubleSuccesses(log);
  for (const image of twice) {
    const first = log.find((l) => l.image === image && l.status === 200)!;
    console.log(`answered during the reload, sent again: ${image} (${(first.end_ms - reloadAt).toFixed(0)} ms after it)`);
    expect(first.end_ms).toBeGreaterThan(reloadAt - 50);
    expect(knownDone.has(image)).toBe(false);
  }
  expect(twice.length).toBeLessThanOrEqual(6);
  expect(await storedText(page)).not.toContain(KEY);
});

test('closing the tab and opening the page again shows the saved run; Clear forgets it', async ({ context }) => {
  const first = await context.newPage();
  const pacer = new PacerPage(first);
  await pacer.open(emu.url, { rate: 8, concurrency: 6 });
  await pacer.loadSamples(12);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 20_000);
  await first.close();

  const again = await context.newPage();
  const reopened = new PacerPage(again);
  await again.goto(`${emu.url}/`);
  await reopened.waitForState('done', 10_000);
  expect(await reopened.number('stat-done')).toBe(12);
  // Its figures come back too, rebuilt from the saved attempts.
  expect(await reopened.number('stat-throughput')).toBeGreaterThan(1);
  expect(await reopened.number('stat-latency-avg')).toBeGreaterThan(250);
  await expect(reopened.byId('summary')).toContainText('12 requests processed in');
  await expect(reopened.byId('result-row')).toHaveCount(12);
  await expect(reopened.byId('notice')).toContainText('last run');
  // The saved settings came back with it.
  await expect(reopened.byId('rate')).toHaveValue('8');

  await reopened.byId('clear').click();
  await reopened.waitForState('idle', 5_000);
  await again.reload();
  await expect(reopened.byId('run-state')).toHaveText('idle');
  await again.waitForTimeout(1000);
  await expect(reopened.byId('run-state')).toHaveText('idle');
  await expect(reopened.byId('result-row')).toHaveCount(0);
});
