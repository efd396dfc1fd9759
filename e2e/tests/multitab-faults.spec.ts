// Tabs sharing a budget, under the fault journey's faults: two tabs sharing one budget send their
// requests from their timer workers (a grant's send is handed over ahead of
// its instant), so the worker's path must account for every item as the
// page's own fetch does. Two pages of one context share 20/s (HTTPS,
// HTTP/2) against the fault mix of faults.spec.ts: 10 % 5xx, 5 % dropped,
// 5 % answered after the page's 3 s timeout, 2 % broken JSON, seeded. Each
// tab ends with every image done once or failed with its reason, its rows'
// tries are the log's requests for each image, and its counts are the log's.
import { test, expect } from '@playwright/test';
import { expectEveryItemAccounted, faultCounts } from '../support/accounted';
import { Emulator, FAULT_MIX } from '../support/emulator';
import { PacerPage } from '../support/pacer-page';

const IMAGES = 60;
const RATE = 20;

let emu: Emulator;

test.beforeAll(async () => {
  emu = await Emulator.start([
    '--limiter', 'fixed-window', '--limit', String(RATE), '--latency-ms', '300',
    ...FAULT_MIX, '--fault-seed', '11',
  ], { tls: true });
});
test.afterAll(async () => emu?.stop());

test('two tabs sharing a budget ride out 5xx, drops, timeouts and bad JSON: each image done once or failed with a reason', async ({ browser }) => {
  test.setTimeout(180_000);
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const base = emu.tlsUrl!;
  const pacers: PacerPage[] = [];
  for (let t = 0; t < 2; t++) {
    const pacer = new PacerPage(await context.newPage());
    await pacer.open(base, { endpoint: base, rate: RATE, concurrency: 16, timeout: 3 });
    const urls = Array.from({ length: IMAGES }, (_, i) =>
      `${base}/samples/img-${String((i % 40) + 1).padStart(4, '0')}.jpg?tab=${t}&n=${i}`);
    await pacer.byId('urls').fill(urls.join('\n'));
    pacers.push(pacer);
  }
  for (const p of pacers) await p.byId('start').click();
  // They share: the sends go through the grants (and the workers).
  for (const p of pacers) await expect(p.byId('pacing-shared')).toHaveText('shared by 2 tabs', { timeout: 10_000 });
  for (const p of pacers) await p.waitForState('done', 150_000);

  const log = emu.log();
  const faults = faultCounts(log);
  console.log(`log: ${log.length} requests, faults ${JSON.stringify(faults)}`);
  for (const f of ['5xx', 'drop', 'slow']) expect(faults[f] ?? 0, f).toBeGreaterThan(0);
  for (let t = 0; t < 2; t++) {
    const mine = log.filter((l) => new RegExp(`[?&]tab=${t}&`).test(l.image));
    console.log(`tab ${t}: ${await pacers[t].number('stat-done')} done, ${mine.length} requests in the log`);
    await expectEveryItemAccounted(pacers[t], IMAGES, mine);
  }
  await context.close();
});
