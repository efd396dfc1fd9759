// The network side of bad input: an endpoint whose CORS
// policy refuses the page, one that does not answer at all, and 429s that
// come without CORS headers (the page sees a bare network error). Each
// gets a message that says what it is and what to do, and every image still
// ends done or failed with a reason. The page is served by one emulator and
// calls another, so these requests really are cross-origin.
import { test, expect } from '@playwright/test';
import { Emulator } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

let site: Emulator;

test.beforeAll(async () => {
  site = await Emulator.start([]);
});
test.afterAll(async () => site?.stop());

async function runAgainst(pacer: PacerPage, endpoint: string, images: number, query: Record<string, string | number> = {}) {
  await pacer.open(site.url, { endpoint, rate: 8, concurrency: 4, attempts: 2, timeout: 3, ...query });
  await pacer.byId('client-key').fill('k');
  await pacer.loadSamples(images);
  await pacer.byId('start').click();
}

test('an API whose CORS policy refuses the page: said so, and each image fails with a reason', async ({ page }) => {
  const api = await Emulator.start(['--no-cors']);
  try {
    const pacer = new PacerPage(page);
    await runAgainst(pacer, api.url, 3);
    await pacer.waitForState('done', 30_000);
    await expect(pacer.byId('notice')).toContainText('CORS policy');
    await expect(pacer.byId('notice')).toContainText(site.url);
    expect(await pacer.number('stat-failed')).toBe(3);
    await expect(page.locator('[data-testid="result-row"] .error-text')).toHaveCount(3);
    // The server did see (and answer) the requests: only the page could not read them.
    expect(api.log().length).toBe(6);
  } finally {
    await api.stop();
  }
});

test('an endpoint that does not answer at all is told apart from a CORS refusal', async ({ page }) => {
  const pacer = new PacerPage(page);
  // Port 9 (discard) on loopback: nothing listens, the connection is refused.
  await runAgainst(pacer, 'http://127.0.0.1:9', 2);
  await pacer.waitForState('done', 30_000);
  await expect(pacer.byId('notice')).toContainText('No answer from http://127.0.0.1:9');
  expect(await pacer.number('stat-failed')).toBe(2);
});

test('429s without CORS headers: explained, backed off, and every image accounted for', async ({ page }) => {
  // A strict 4/s limit the page cannot read (no exposed headers), its 429s
  // stripped of CORS, and the page set to 6/s: a third of the sends are
  // refused and reach the page as bare network errors.
  const api = await Emulator.start(['--limiter', 'gcra', '--burst', '0', '--limit', '4',
    '--no-cors-on-429', '--no-expose-headers', '--latency-ms', '100']);
  try {
    const pacer = new PacerPage(page);
    await runAgainst(pacer, api.url, 30, { rate: 6, attempts: 5 });
    await pacer.waitForState('done', 60_000);
    await expect(pacer.byId('notice')).toContainText('429s that carry no CORS headers');
    const done = await pacer.number('stat-done');
    const failed = await pacer.number('stat-failed');
    expect(done + failed).toBe(30);
    const log = api.log();
    const ok = new Map<string, number>();
    for (const l of log.filter((l) => l.status === 200)) ok.set(l.image, (ok.get(l.image) ?? 0) + 1);
    expect([...ok.values()].filter((n) => n > 1)).toEqual([]);
    expect(ok.size).toBe(done);
    console.log(`opaque 429s: ${log.filter((l) => l.status === 429).length} of ${log.length} requests; ${done} done, ${failed} failed`);
  } finally {
    await api.stop();
  }
});
