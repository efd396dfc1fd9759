// A hidden tab keeps its pace (Chrome throttles a hidden tab's own timers): 300 sample images at 8 req/s
// against a fixed-window limiter of 8/s with 300 ms latency; after 3 s the
// page is hidden behind a second tab for ~25 s. First proof that the tab is
// really throttled (a plain 100 ms setTimeout chain in it runs ≤ 2/s), then,
// from the emulator's access log, the successful sends per second while
// hidden: at least 0.8 × 8/s and no 429. Shown again, the run completes.
//
// Playwright cannot hide a page (attaching it makes the page visible), so
// this spec drives a directly launched Chromium over raw CDP through
// support/hidden-tab.mjs and does not use the `page` fixture.
import { test, expect } from '@playwright/test';
import { Emulator } from '../support/emulator';
import { withHiddenTab } from '../support/hidden-tab.mjs';

const RATE = 8;
const IMAGES = 300;
const HIDDEN_MS = 25_000;

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start(['--limiter', 'fixed-window', '--limit', String(RATE), '--latency-ms', '300']);
});
test.afterAll(async () => emu?.stop());

test('a hidden tab keeps sending at its rate and finishes once shown', async () => {
  test.setTimeout(180_000);
  await withHiddenTab(`${emu.url}/?rate=${RATE}&concurrency=6`, async (tab) => {
    await tab.waitForState('idle', 15_000);
    expect(await tab.visibility()).toBe('visible');
    await tab.loadSamples(IMAGES);
    await tab.start();
    await new Promise((r) => setTimeout(r, 3_000));

    const hiddenAt = await tab.hide();
    // The proof that hiding is real: the page's own plain timers are throttled.
    const plain = await tab.plainTimerRate(5_000);
    console.log(`plain 100 ms setTimeout chain while hidden: ${plain.perSecond.toFixed(2)} ticks/s (${plain.ticks} in ${plain.ms} ms)`);
    expect(plain.visibility).toBe('hidden');
    expect(plain.perSecond, 'a plain setTimeout chain in the hidden page must be throttled, or this test proves nothing')
      .toBeLessThanOrEqual(2);

    await new Promise((r) => setTimeout(r, Math.max(0, hiddenAt + HIDDEN_MS - Date.now())));
    expect(await tab.visibility()).toBe('hidden');
    const shownAt = Date.now();
    const hidden = emu.log().filter((l) => l.arrival_ms >= hiddenAt && l.arrival_ms < shownAt);
    const okPerSecond = hidden.filter((l) => l.status === 200).length / ((shownAt - hiddenAt) / 1000);
    console.log(`hidden ${((shownAt - hiddenAt) / 1000).toFixed(1)} s: ${okPerSecond.toFixed(2)} successful sends/s ` +
      `(limit ${RATE}/s), ${hidden.filter((l) => l.status === 429).length} × 429, page state ${await tab.runState()}`);
    // Soft, so that a slow hidden tab still shows whether the run completes.
    expect.soft(okPerSecond, 'successful sends per second while hidden').toBeGreaterThanOrEqual(0.8 * RATE);
    expect.soft(hidden.filter((l) => l.status === 429), '429s while hidden').toHaveLength(0);

    await tab.show();
    await tab.waitForState('done', 90_000);
    const log = emu.log();
    // Where each refusal landed in its one-second window (the emulator's
    // windows start on whole Unix seconds), to tell a send that crossed
    // an edge from a window sent too full.
    for (const r of log.filter((l) => l.status === 429)) {
      const window = Math.floor(r.arrival_ms / 1000);
      const inWindow = log.filter((l) => Math.floor(l.arrival_ms / 1000) === window);
      console.log(`429 at ${(r.arrival_ms - shownAt).toFixed(1)} ms after shown, ${(r.arrival_ms % 1000).toFixed(1)} ms into its window; ` +
        `that window's arrivals (ms into it, status): ${inWindow.map((l) => `${(l.arrival_ms % 1000).toFixed(1)} ${l.status}`).join(', ')}`);
    }
    const stats = await tab.stats();
    expect(stats['stat-done']).toBe(IMAGES);
    expect(stats['stat-failed']).toBe(0);
    expect(stats['stat-queued']).toBe(0);
    expect(stats['stat-429']).toBe(0);
    expect(log.filter((l) => l.status === 429)).toHaveLength(0);
    expect(new Set(log.filter((l) => l.status === 200).map((l) => l.image)).size).toBe(IMAGES);
  });
});
