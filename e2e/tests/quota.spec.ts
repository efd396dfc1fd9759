// Quotas that run out mid-run, and a concurrency cap, against the real
// emulator with a "day" of QUOTA_S seconds (`--quota-window-s`, windows at
// multiples of it since the Unix epoch) so that the quota returns within
// the test:
//
// - GitHub-style headers (`X-RateLimit-Reset` a Unix time): the last
//   success of the day says nothing is left, the page waits
//   (`waiting-for-quota`), sends nothing, survives a reload during the
//   wait, shows as waiting in another tab once its own tab closes, and
//   finishes there by itself once the quota is back;
// - Kong headers with `Retry-After` as an HTTP date, the tab hidden for
//   the whole wait: one 429 per day at most, resumed from the timer worker
//   while hidden;
// - a day quota spread over its time left, then switched off mid-run: the
//   run goes as fast as the limits allow from then on;
// - a server that refuses more than 2 requests in flight: the page learns
//   the cap, says so, and the refusals stop.
// Every image is done exactly once, nothing failed, all from the access log.
import { test, expect } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Emulator, LogLine, SCREENSHOTS } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';
import { withHiddenTab } from '../support/hidden-tab.mjs';

/** The emulator's "day", seconds. */
const QUOTA_S = 20;
/** Requests a key may make per "day". */
const PER_DAY = 6;
/** Two days' worth of images: the run must wait once, and then finish. */
const IMAGES = 2 * PER_DAY;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until just after a "day" begins, so that a run started now uses
 * up its quota well before the day ends (a wait, not a short pause). */
async function atDayStart(): Promise<number> {
  const day = QUOTA_S * 1000;
  await sleep(day - (Date.now() % day) + 300);
  return Date.now();
}

/** When the day that `at` (ms) falls in ends. */
const dayEnd = (at: number) => Math.ceil(at / (QUOTA_S * 1000)) * QUOTA_S * 1000;

/** 200s per image. */
function oks(log: LogLine[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const l of log) if (l.status === 200) n.set(l.image, (n.get(l.image) ?? 0) + 1);
  return n;
}

/** The requests that arrived between the quota running out and the day's end. */
function duringWait(log: LogLine[]): { ranOut: number; end: number; inside: LogLine[] } {
  const firstDay = log.filter((l) => l.status === 200).slice(0, PER_DAY);
  const ranOut = Math.max(...firstDay.map((l) => l.end_ms));
  const end = dayEnd(ranOut);
  // The answer that said "nothing left" may have crossed a refused request
  // on the wire (Kong's case): only arrivals well after it count.
  const inside = log.filter((l) => l.arrival_ms > ranOut + 1_000 && l.arrival_ms < end - 200);
  return { ranOut, end, inside };
}

test.describe('a day quota', () => {
  let emu: Emulator;
  test.afterEach(async () => emu?.stop());

  test('runs out mid-run: the page waits, survives a reload, and finishes by itself', async ({ page }) => {
    test.setTimeout(120_000);
    emu = await Emulator.start([
      '--limiter', 'fixed-window', '--limit', '4', '--latency-ms', '150',
      '--headers', 'github', '--limit-day', String(PER_DAY), '--quota-window-s', String(QUOTA_S),
      '--retry-after',
    ]);
    const pacer = new PacerPage(page);
    await pacer.open(emu.url, { rate: 4, concurrency: 4 });
    await pacer.loadSamples(IMAGES);
    await atDayStart();
    await pacer.byId('start').click();

    await pacer.waitForState('waiting-for-quota', 15_000);
    await expect(pacer.byId('quota-wait')).toBeVisible();
    await expect(pacer.byId('quota-countdown')).toHaveText(/^0:[01]\d$/);
    await expect(pacer.byId('notice')).toContainText('quota');
    await expect(pacer.byId('notice')).toContainText(`${PER_DAY} requests per window`);
    await expect(page.locator('[data-testid="run-history-item"]').first()).toHaveAttribute('data-state', 'waiting-for-quota');
    expect(await pacer.number('stat-done')).toBe(PER_DAY);
    expect(await pacer.number('stat-failed')).toBe(0);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'waiting-for-quota.png'), fullPage: true });

    // Reloaded during the wait: the saved run is taken up again, waiting.
    await sleep(2_000);
    await page.reload();
    await pacer.waitForState('waiting-for-quota', 10_000);
    await expect(pacer.byId('quota-wait')).toBeVisible();

    // Another tab sees it running elsewhere; once its tab closes, waiting
    // for its quota (not interrupted), and opening it there waits out the
    // rest and finishes it.
    const runId = await page.getByTestId('run-history-item').first().getAttribute('data-run-id');
    const other = new PacerPage(await page.context().newPage());
    await other.open(emu.url, { rate: 4, concurrency: 4 });
    const item = other.page.locator(`[data-testid="run-history-item"][data-run-id="${runId}"]`);
    await expect(item).toHaveAttribute('data-state', 'running-elsewhere', { timeout: 10_000 });
    await page.close();
    await expect(item).toHaveAttribute('data-state', 'waiting-for-quota', { timeout: 15_000 });
    await expect(item).toContainText('left waiting for quota');
    await item.getByTestId('history-open').click();
    await other.waitForState('waiting-for-quota', 10_000);

    await other.waitForState('done', 60_000);
    expect(await other.number('stat-done')).toBe(IMAGES);
    expect(await other.number('stat-failed')).toBe(0);

    const log = emu.log();
    const { ranOut, end, inside } = duringWait(log);
    console.log(`quota out at +${ranOut % (QUOTA_S * 1000)} ms into the day, back at its end; ` +
      `${inside.length} requests during the wait, ${log.filter((l) => l.status === 429).length} × 429 in all`);
    expect(inside, 'nothing is sent while the quota is out').toHaveLength(0);
    // Taken up again by itself at the reset (within the run's pacing).
    const firstAfter = Math.min(...log.filter((l) => l.status === 200 && l.arrival_ms >= end).map((l) => l.arrival_ms));
    expect(firstAfter - end).toBeLessThan(3_000);
    const done = oks(log);
    expect(done.size).toBe(IMAGES);
    expect([...done.values()].every((n) => n === 1), 'every image done once').toBe(true);
  });

  test('with the tab hidden for the whole wait, Kong headers and Retry-After as a date', async () => {
    test.setTimeout(120_000);
    emu = await Emulator.start([
      '--limiter', 'fixed-window', '--limit', '4', '--latency-ms', '150',
      '--headers', 'kong', '--limit-day', String(PER_DAY), '--quota-window-s', String(QUOTA_S),
      '--retry-after-date',
    ]);
    await withHiddenTab(`${emu.url}/?rate=4&concurrency=4`, async (tab: any) => {
      await tab.waitForState('idle', 15_000);
      await tab.loadSamples(IMAGES);
      await atDayStart();
      await tab.start();
      await tab.waitForState('waiting-for-quota', 15_000);
      const hiddenAt = await tab.hide();
      const plain = await tab.plainTimerRate(3_000);
      expect(plain.visibility).toBe('hidden');
      expect(plain.perSecond, 'the hidden page\'s own timers must be throttled, or this proves nothing').toBeLessThanOrEqual(2);

      // Hidden until the second day's images are all done.
      const log0 = emu.log();
      const end = dayEnd(Math.max(...log0.filter((l) => l.status === 200).map((l) => l.end_ms)));
      await sleep(Math.max(0, end - Date.now()) + 6_000);
      expect(await tab.visibility()).toBe('hidden');
      const shownAt = Date.now();
      const log = emu.log();
      const resumedHidden = log.filter((l) => l.status === 200 && l.arrival_ms >= end && l.arrival_ms < shownAt);
      console.log(`hidden from ${hiddenAt % 100_000} to ${shownAt % 100_000}; ${resumedHidden.length} done ` +
        `after the reset while hidden; page state ${await tab.runState()}`);
      expect(resumedHidden.length, 'the hidden tab resumed at the reset by itself').toBe(PER_DAY);
      expect(await tab.runState()).toBe('done');

      await tab.show();
      const stats = await tab.stats();
      expect(stats['stat-done']).toBe(IMAGES);
      expect(stats['stat-failed']).toBe(0);
      const { inside } = duringWait(log);
      expect(inside, 'nothing is sent while the quota is out').toHaveLength(0);
      // Kong's day ends at midnight by the page's reckoning: the server's
      // own word comes with the first refusal, one per day at most.
      expect(log.filter((l) => l.status === 429).length).toBeLessThanOrEqual(2);
      const done = oks(log);
      expect(done.size).toBe(IMAGES);
      expect([...done.values()].every((n) => n === 1), 'every image done once').toBe(true);
    });
  });
});

test('a spread quota follows the form: switched off mid-run, the run goes as fast as allowed at once', async ({ page }) => {
  test.setTimeout(90_000);
  // A "day" of 10 min with 60 requests: spread, that is what is left over
  // the time left, well under the page's 10/s (a window over a minute long
  // is a quota, not a rate).
  const DAY_S = 600;
  const N = 24;
  const emu = await Emulator.start([
    '--limiter', 'fixed-window', '--limit', '10', '--latency-ms', '100',
    '--headers', 'ietf-draft', '--limit-day', '60', '--quota-window-s', String(DAY_S),
  ]);
  try {
    const pacer = new PacerPage(page);
    await pacer.open(emu.url, { rate: 10, concurrency: 4, spread: 1 });
    await expect(pacer.byId('spread-quota')).toBeChecked();
    await pacer.loadSamples(N);
    // At least 30 s of the day left: a spread rate of at most 60 / 30 s.
    const left = DAY_S * 1000 - (Date.now() % (DAY_S * 1000));
    if (left < 30_000) await sleep(left + 300);
    await pacer.byId('start').click();
    await expect(pacer.byId('notice')).toContainText('spread over', { timeout: 10_000 });
    await sleep(3_000);
    const before = emu.log().filter((l) => l.status === 200);
    const spreadRate = (before.length - 1) / ((Date.now() - before[0].arrival_ms) / 1000);
    console.log(`spread: ${before.length} done in the first ${((Date.now() - before[0].arrival_ms) / 1000).toFixed(1)} s (${spreadRate.toFixed(2)}/s)`);
    expect(spreadRate).toBeLessThan(3.5);

    const off = Date.now();
    await pacer.byId('spread-quota').uncheck();
    // The notice names what binds now: the per-second limit.
    await expect(pacer.byId('notice')).not.toContainText('spread over');
    await pacer.waitForState('done', 20_000);
    const log = emu.log();
    const after = log.filter((l) => l.status === 200 && l.arrival_ms > off);
    const span = (Math.max(...after.map((l) => l.arrival_ms)) - off) / 1000;
    console.log(`after switching it off: ${after.length} done in ${span.toFixed(1)} s`);
    expect(after.length).toBeGreaterThanOrEqual(N - before.length - 2);
    expect(after.length / span, 'as fast as the per-second limit allows, not the spread rate').toBeGreaterThan(5);
    expect(log.filter((l) => l.status === 429)).toHaveLength(0);
    const done = oks(log);
    expect(done.size).toBe(N);
    expect([...done.values()].every((n) => n === 1), 'every image done once').toBe(true);
  } finally {
    await emu.stop();
  }
});

test('a concurrency cap is learnt: the pool keeps to it and the refusals stop', async ({ page }) => {
  test.setTimeout(120_000);
  const CAP = 2;
  const emu = await Emulator.start([
    '--limiter', 'fixed-window', '--limit', '100', '--latency-ms', '600',
    '--max-in-flight', String(CAP), '--cap-status', '429',
  ]);
  try {
    const pacer = new PacerPage(page);
    await pacer.open(emu.url, { rate: 10, concurrency: 6 });
    await pacer.loadSamples(40);
    await pacer.byId('start').click();
    await expect(pacer.byId('notice')).toContainText(`at most ${CAP} in flight`, { timeout: 30_000 });
    await pacer.waitForState('done', 90_000);
    expect(await pacer.number('stat-done')).toBe(40);
    expect(await pacer.number('stat-failed')).toBe(0);
    const notices = await page.getByTestId('notice').allTextContents();
    console.log(`notice at the end: ${notices.join(' | ')}`);

    const log = emu.log();
    const refused = log.filter((l) => l.status === 429);
    const half = log.slice(Math.floor(log.length / 2));
    console.log(`${refused.length} refusals in ${log.length} requests; ${half.filter((l) => l.status === 429).length} in the second half`);
    expect(refused.length, 'a few refusals teach the cap').toBeGreaterThan(0);
    expect(refused.length, 'then they stop').toBeLessThanOrEqual(10);
    expect(half.filter((l) => l.status === 429), 'no refusal once the cap is learnt').toHaveLength(0);
    const done = oks(log);
    expect(done.size).toBe(40);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
  } finally {
    await emu.stop();
  }
});
