// Proxy mode for APIs that refuse browsers. The upstream
// is an emulator that sends no CORS headers (--no-cors), with a Kong-like
// fixed window of 5/s that it announces in X-RateLimit-Limit-Second; a
// second emulator runs as a proxy in front of it (--proxy-to). The page,
// served by a third origin, is pointed at the proxy: every image must be
// done, and the page must adopt the announced limit (its notice names it,
// and the upstream sees few 429s), which it can only do if the proxy
// passed the rate-limit headers through and exposed them to the page.
// The proxy's access log must never hold the key. Last, the page's CORS
// message for the upstream itself must point to proxy mode.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { Emulator, LogLine, keyTag } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const KEY = 'proxy-e2e-secret-key';

let site: Emulator;
let upstream: Emulator;
let proxy: Emulator;

test.beforeAll(async () => {
  site = await Emulator.start([]);
  upstream = await Emulator.start(['--no-cors', '--limiter', 'fixed-window', '--limit', '5',
    '--retry-after', '--latency-ms', '150']);
  proxy = await Emulator.start(['--proxy-to', upstream.url]);
});
test.afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
  await site?.stop();
});

/** Status → count, to compare two logs. */
function statuses(lines: LogLine[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) out[l.status] = (out[l.status] ?? 0) + 1;
  return out;
}

test('a page on another origin runs through the proxy and adopts the announced limit', async ({ page }) => {
  const pacer = new PacerPage(page);
  await pacer.open(site.url, { endpoint: proxy.url, rate: 10, concurrency: 4, attempts: 3, timeout: 10 });
  await pacer.byId('client-key').fill(KEY);
  await pacer.loadSamples(20);
  await pacer.byId('start').click();
  // 5/s is less than the page's 10/s: it says so, naming the header.
  await expect(pacer.byId('notice')).toContainText('X-RateLimit-Limit-Second: 5', { timeout: 10_000 });
  await pacer.waitForState('done', 60_000);
  expect(await pacer.number('stat-done')).toBe(20);
  expect(await pacer.number('stat-failed')).toBe(0);

  // The upstream got every request with the key, and at most a stray 429
  // before the first answer told the page the limit (without the headers
  // the page would send 10/s into a 5/s window: half of its sends refused).
  const up = upstream.log();
  expect(up.every((l) => l.key === keyTag(KEY))).toBe(true);
  const ok = new Set(up.filter((l) => l.status === 200).map((l) => l.image));
  expect(ok.size).toBe(20);
  const refused = up.filter((l) => l.status === 429).length;
  expect(refused).toBeLessThanOrEqual(2);

  // The proxy forwarded exactly those requests, and logged no key.
  const via = proxy.log();
  expect(statuses(via)).toEqual(statuses(up));
  expect(via.every((l) => l.key === '')).toBe(true);
  expect(readFileSync(proxy.logPath, 'utf8')).not.toContain(KEY);
  console.log(`through the proxy: ${up.length} requests upstream (${refused} × 429), 20 done`);
});

test('the proxy also serves the page itself, with itself as the default endpoint', async ({ page }) => {
  const before = upstream.log().length;
  const pacer = new PacerPage(page);
  // As `scripts/run.sh --proxy-to URL` would: one origin, no endpoint given.
  await pacer.open(proxy.url, { rate: 5, concurrency: 4 });
  await pacer.byId('client-key').fill(KEY);
  await pacer.loadSamples(8);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 60_000);
  expect(await pacer.number('stat-done')).toBe(8);
  const up = upstream.log().slice(before);
  expect(new Set(up.filter((l) => l.status === 200).map((l) => l.image)).size).toBe(8);
});

test("the page's CORS message points to proxy mode", async ({ page }) => {
  const pacer = new PacerPage(page);
  // Straight at the CORS-less upstream, from another origin: refused.
  await pacer.open(site.url, { endpoint: upstream.url, rate: 5, concurrency: 2, attempts: 1, timeout: 5 });
  await pacer.byId('client-key').fill(KEY);
  await pacer.loadSamples(2);
  await pacer.byId('start').click();
  await pacer.waitForState('done', 30_000);
  await expect(pacer.byId('notice')).toContainText('CORS policy');
  await expect(pacer.byId('notice')).toContainText(`pacer-emulator --proxy-to ${upstream.url}`);
});
